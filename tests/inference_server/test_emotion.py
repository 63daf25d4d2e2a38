"""Emotion capability: the MiniLM prototype backend and the transformers loading path."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from inference_server.models.emotion import (
    EmotionClassifier,
    PrototypeEmotion,
    TransformerEmotion,
    load_default_prototypes,
    map_model_labels,
)
from inference_server.protocol import EMOTIONS

os.environ.setdefault("HF_HUB_OFFLINE", "1")

EVAL_FILE = Path(__file__).resolve().parents[2] / "bench" / "data" / "emotion_eval.jsonl"
# Measured 95.5% (84/88) with the default settings; a few points of slack, so a real
# regression (prototypes, threshold, VADER weight) still fails.
EVAL_ACCURACY_FLOOR = 0.90


@pytest.fixture(scope="module")
def minilm_dir(model_settings) -> Path:
    """The MiniLM that `make test` prepared from its PyPI package (the server's own copy)."""
    from inference_server.catalog import ModelError, profile_entries, resolve

    entry = profile_entries("cpu", model_settings.llm_model)["embeddings"]
    try:
        path = resolve(entry, model_settings.models_dir)
    except ModelError as exc:
        pytest.fail(f"{exc} (run `make models-test`)", pytrace=False)
    root = path if path.is_dir() else path.parent
    for modules in sorted(root.rglob("modules.json")):
        if (modules.parent / "config.json").exists():
            return modules.parent
    if (root / "config.json").exists():
        return root
    pytest.fail(f"no sentence-transformers directory in {root}")


@pytest.fixture(scope="module")
def classifier(minilm_dir: Path) -> PrototypeEmotion:
    from inference_server.models.embeddings import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2", str(minilm_dir))
    return PrototypeEmotion("emotion-prototypes", embedder)


# --- no model needed ---------------------------------------------------------------------

class _Recording(EmotionClassifier):
    def __init__(self) -> None:
        super().__init__("recording")
        self.calls: list[list[str]] = []

    def _classify_impl(self, texts):
        self.calls.append(texts)
        return [("joy", 0.7) for _ in texts]


def test_blank_texts_are_neutral_without_a_model_call():
    clf = _Recording()
    assert clf.classify(["", "   ", "\n"]) == [("neutral", 1.0)] * 3
    assert clf.calls == []
    assert clf.classify(["hi", " ", "there "]) == [("joy", 0.7), ("neutral", 1.0), ("joy", 0.7)]
    assert clf.calls == [["hi", "there"]]
    assert clf.classify([]) == []
    assert clf.capability == "emotion" and clf.capabilities.batching


def test_packaged_prototypes_cover_every_emotion():
    prototypes = load_default_prototypes()
    assert set(prototypes) == set(EMOTIONS)
    assert all(len(texts) >= 15 for texts in prototypes.values())
    eval_texts = {json.loads(line)["text"] for line in EVAL_FILE.read_text().splitlines()}
    assert not eval_texts & {t for texts in prototypes.values() for t in texts}


def test_model_labels_map_case_insensitively_and_reject_unknown():
    assert map_model_labels({0: "Joy", 1: "SAD", 2: "neutral"}) == ["joy", "sadness", "neutral"]
    with pytest.raises(ValueError, match="LABEL_1"):
        map_model_labels({0: "anger", 1: "LABEL_1"})


def test_eval_file_is_balanced_enough():
    labels = [json.loads(line)["label"] for line in EVAL_FILE.read_text().splitlines()]
    counts = {e: labels.count(e) for e in EMOTIONS}
    assert len(labels) >= 70 and set(labels) == set(EMOTIONS)
    assert min(counts.values()) >= 8 and counts["neutral"] == max(counts.values())


# --- real MiniLM -------------------------------------------------------------------------

OBVIOUS = [
    ("I'm so happy, this is wonderful news!", "joy"),
    ("This is disgusting, it makes me sick", "disgust"),
    ("What time is the meeting tomorrow?", "neutral"),
    ("Please send the slides to the whole team.", "neutral"),
    ("I'm absolutely furious, you ignored everything I said!", "anger"),
    ("I'm terrified that something awful will happen to my kids.", "fear"),
    ("I'm heartbroken, my best friend moved away.", "sadness"),
    ("Wow, I had no idea, that's completely unexpected!", "surprise"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("text", "expected"), OBVIOUS)
def test_obvious_sentences(classifier, text, expected):
    [(label, score)] = classifier.classify([text])
    assert label == expected, (text, label, score)
    assert score > 1 / len(EMOTIONS)


@pytest.mark.slow
def test_batch_keeps_order_and_matches_single_calls(classifier):
    texts = [t for t, _ in OBVIOUS]
    texts.insert(3, "  ")
    batch = classifier.classify(texts)
    assert len(batch) == len(texts)
    assert batch[3] == ("neutral", 1.0)
    assert [label for label, _ in batch] == [classifier.classify([t])[0][0] for t in texts]
    reverse = classifier.classify(texts[::-1])
    assert [label for label, _ in reverse] == [label for label, _ in batch][::-1]


@pytest.mark.slow
def test_scores_are_probabilities(classifier):
    texts = [t for t, _ in OBVIOUS] + ["ok", "Hmm.", "a" * 2000]
    for label, score in classifier.classify(texts):
        assert label in EMOTIONS
        assert isinstance(score, float) and 0.0 <= score <= 1.0
    probs = classifier.scores(texts)
    assert probs.shape == (len(texts), len(EMOTIONS))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.slow
def test_accuracy_on_held_out_eval_set(classifier):
    rows = [json.loads(line) for line in EVAL_FILE.read_text().splitlines() if line.strip()]
    predicted = classifier.classify([r["text"] for r in rows])
    accuracy = np.mean([p == r["label"] for (p, _), r in zip(predicted, rows)])
    assert accuracy >= EVAL_ACCURACY_FLOOR, f"accuracy {accuracy:.1%}"


# --- transformers path, on a tiny randomly initialised model -------------------------------

def _tiny_emotion_model(minilm_dir: Path, out: Path, id2label: dict[int, str]) -> Path:
    import torch
    from transformers import AutoModelForSequenceClassification, DistilBertConfig

    torch.manual_seed(0)
    vocab_size = sum(1 for _ in (minilm_dir / "vocab.txt").open(encoding="utf-8"))
    config = DistilBertConfig(vocab_size=vocab_size, dim=32, hidden_dim=64, n_layers=2,
                              n_heads=2, max_position_embeddings=128, id2label=id2label,
                              label2id={v: k for k, v in id2label.items()})
    AutoModelForSequenceClassification.from_config(config).save_pretrained(out)
    # DistilBERT uses BERT's WordPiece tokenizer: borrow MiniLM's tokenizer files.
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json"):
        if (minilm_dir / name).exists():
            shutil.copy(minilm_dir / name, out / name)
    return out


@pytest.mark.slow
def test_transformer_emotion_loads_a_local_model(minilm_dir, tmp_path):
    # Capitalised and shuffled like real checkpoints; must map onto our label order.
    names = ["Surprise", "joy", "ANGER", "neutral", "fear", "Sadness", "disgust"]
    path = _tiny_emotion_model(minilm_dir, tmp_path / "tiny", dict(enumerate(names)))
    clf = TransformerEmotion("tiny-emotion", str(path), batch_size=2)
    assert clf.model_labels == [n.lower() for n in names]
    assert clf.capability == "emotion" and clf.capabilities.batching

    texts = ["I'm so happy!", "", "This is disgusting.", "What time is it?", "Wow, really?"]
    results = clf.classify(texts)
    assert len(results) == len(texts) and results[1] == ("neutral", 1.0)
    for label, score in results:
        assert label in EMOTIONS and 0.0 <= score <= 1.0
    # Batching (with padding, across batch boundaries) must not change or reorder results.
    singles = [clf.classify([t])[0] for t in texts]
    assert [label for label, _ in results] == [label for label, _ in singles]
    np.testing.assert_allclose([s for _, s in results], [s for _, s in singles], atol=1e-4)

    # Columns follow EMOTIONS, not the model's id order.
    import torch

    model_probs = []
    for text in texts[2:4]:
        enc = clf._tokenizer([text], return_tensors="pt")
        enc.pop("token_type_ids", None)
        with torch.inference_mode():
            model_probs.append(torch.softmax(clf._model(**enc).logits, -1)[0].numpy())
    ours = clf.scores(texts[2:4])
    for row, probs in zip(ours, model_probs):
        for i, name in enumerate(names):
            assert row[EMOTIONS.index(name.lower())] == pytest.approx(probs[i], abs=1e-5)


@pytest.mark.slow
def test_transformer_emotion_rejects_unknown_labels(minilm_dir, tmp_path):
    path = _tiny_emotion_model(minilm_dir, tmp_path / "bad", {0: "joy", 1: "LABEL_1"})
    with pytest.raises(ValueError, match="LABEL_1"):
        TransformerEmotion("bad", str(path))
