"""Emotion of a caption sentence: one of `protocol.EMOTIONS` with a confidence in [0, 1].

Two backends:
- `PrototypeEmotion` (CPU profile): no transformer emotion classifier ships offline, so we
  compare MiniLM sentence embeddings with per-emotion centroids of labelled prototype
  sentences (`inference_server/data/emotion_prototypes.json`), nudged by VADER polarity.
- `TransformerEmotion` (GPU profile): a Hugging Face sequence-classification model such as
  j-hartmann/emotion-english-distilroberta-base, whose labels are exactly our seven.
"""

from __future__ import annotations

import inspect
import json
import logging
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from importlib import resources

import numpy as np

from ..protocol import EMOTIONS
from .base import Capabilities, ModelBackend
from .embeddings import TextEmbedder

log = logging.getLogger(__name__)

NEUTRAL = "neutral"
_NEUTRAL_INDEX = EMOTIONS.index(NEUTRAL)
# Emotions that negative / positive VADER polarity counts as evidence for (surprise: neither).
_NEGATIVE = tuple(EMOTIONS.index(e) for e in ("anger", "disgust", "fear", "sadness"))
_POSITIVE = (EMOTIONS.index("joy"),)

# Names other emotion models use for our labels (after lower-casing).
_LABEL_ALIASES = {
    "angry": "anger", "disgusted": "disgust", "fearful": "fear", "scared": "fear",
    "happy": "joy", "happiness": "joy", "sad": "sadness", "surprised": "surprise",
    "none": "neutral", "no emotion": "neutral", "others": "neutral",
}


class EmotionClassifier(ModelBackend):
    capability = "emotion"

    def __init__(self, name: str, *, path: str | None = None, device: str = "cpu") -> None:
        super().__init__(name, path=path, device=device, capabilities=Capabilities(batching=True))

    def classify(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """(label, score) per text, in input order. Blank texts are neutral without a model call."""
        results: list[tuple[str, float]] = [(NEUTRAL, 1.0)] * len(texts)
        todo = [i for i, text in enumerate(texts) if text and text.strip()]
        if not todo:
            return results
        predicted = self._classify_impl([texts[i].strip() for i in todo])
        if len(predicted) != len(todo):
            raise RuntimeError(f"{type(self).__name__} returned {len(predicted)} results "
                               f"for {len(todo)} texts")
        for i, (label, score) in zip(todo, predicted):
            results[i] = (label, min(1.0, max(0.0, float(score))))
        return results

    @abstractmethod
    def _classify_impl(self, texts: list[str]) -> list[tuple[str, float]]: ...


def _most_likely(probs: np.ndarray) -> list[tuple[str, float]]:
    """(label, probability) of each row's arg-max; columns in EMOTIONS order."""
    best = probs.argmax(axis=1)
    return [(EMOTIONS[j], float(probs[i, j])) for i, j in enumerate(best)]


def load_default_prototypes() -> dict[str, list[str]]:
    """The packaged prototype sentences, keyed by emotion."""
    raw = resources.files("inference_server").joinpath("data", "emotion_prototypes.json")
    data = json.loads(raw.read_text(encoding="utf-8"))
    return {label: list(texts) for label, texts in data.items() if not label.startswith("_")}


class PrototypeEmotion(EmotionClassifier):
    """Nearest emotion centroid of MiniLM embeddings, with a neutral floor and VADER nudge.

    Per emotion the similarity is cosine(text, centroid of that emotion's prototypes).
    VADER compound polarity c in [-1, 1] adds `sentiment_weight * max(c, 0)` to joy,
    `sentiment_weight * max(-c, 0)` to the negative emotions and subtracts
    `sentiment_weight * |c|` from neutral. Neutral's score is at least `neutral_threshold`,
    so an emotion must be that similar to win (plain statements often resemble nothing).
    Scores are softmax(similarity / temperature).

    Defaults were tuned by leave-one-out over the prototype sentences (centroid alone 84%,
    +VADER 87%, +threshold 88%; temperature minimises leave-one-out log loss), never on
    bench/data/emotion_eval.jsonl.
    """

    backend = "prototype-minilm"

    def __init__(self, name: str, embedder: TextEmbedder, *, neutral_threshold: float = 0.2,
                 temperature: float = 0.03, sentiment_weight: float = 0.1,
                 prototypes: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__(name, path=embedder.path, device=embedder.device)
        if temperature <= 0:
            raise ValueError("temperature must be positive")
        self.embedder = embedder
        self.neutral_threshold = neutral_threshold
        self.temperature = temperature
        self.sentiment_weight = sentiment_weight
        self._vader = _load_vader() if sentiment_weight else None
        self.centroids = self._build_centroids(prototypes or load_default_prototypes())

    def _build_centroids(self, prototypes: Mapping[str, Sequence[str]]) -> np.ndarray:
        unknown = set(prototypes) - set(EMOTIONS)
        if unknown:
            raise ValueError(f"prototype labels not in EMOTIONS: {sorted(unknown)}")
        missing = [e for e in EMOTIONS if e != NEUTRAL and not prototypes.get(e)]
        if missing:
            raise ValueError(f"no prototype sentences for: {missing}")
        centroids = np.zeros((len(EMOTIONS), self.embedder.dim), dtype=np.float32)
        for i, label in enumerate(EMOTIONS):
            texts = list(prototypes.get(label, ()))
            if not texts:  # neutral may be threshold-only: its row stays 0, similarity 0
                continue
            centroid = self.embedder.embed(texts).mean(axis=0)
            centroids[i] = centroid / np.linalg.norm(centroid)
        return centroids

    def _polarity(self, texts: list[str]) -> np.ndarray:
        if self._vader is None:
            return np.zeros(len(texts), dtype=np.float32)
        return np.array([self._vader.polarity_scores(t)["compound"] for t in texts],
                        dtype=np.float32)

    def scores(self, texts: list[str]) -> np.ndarray:
        """Probabilities, one row per text, columns in EMOTIONS order."""
        sims = self.embedder.embed(texts) @ self.centroids.T
        polarity = self._polarity(texts)
        w = self.sentiment_weight
        sims[:, _POSITIVE] += w * np.clip(polarity, 0, None)[:, None]
        sims[:, _NEGATIVE] += w * np.clip(-polarity, 0, None)[:, None]
        sims[:, _NEUTRAL_INDEX] -= w * np.abs(polarity)
        sims[:, _NEUTRAL_INDEX] = np.maximum(sims[:, _NEUTRAL_INDEX], self.neutral_threshold)
        logits = sims / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        return probs / probs.sum(axis=1, keepdims=True)

    def _classify_impl(self, texts: list[str]) -> list[tuple[str, float]]:
        return _most_likely(self.scores(texts))


def _load_vader():
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:  # still usable, a few points less accurate
        log.warning("vaderSentiment not installed; emotion prototypes run without polarity")
        return None
    return SentimentIntensityAnalyzer()


def map_model_labels(id2label: Mapping[int, str]) -> list[str]:
    """Our emotion for each of a model's class ids, in id order; unknown names raise."""
    mapped: list[str] = []
    unknown: list[str] = []
    for idx in sorted(int(k) for k in id2label):
        name = str(id2label[idx] if idx in id2label else id2label[str(idx)])
        label = _LABEL_ALIASES.get(name.strip().lower(), name.strip().lower())
        if label in EMOTIONS:
            mapped.append(label)
        else:
            unknown.append(name)
    if unknown:
        raise ValueError(f"emotion model labels {unknown} are not among {list(EMOTIONS)}")
    return mapped


class TransformerEmotion(EmotionClassifier):
    """A transformers sequence-classification model directory; softmax over its classes."""

    backend = "transformers"

    def __init__(self, name: str, path: str, *, device: str = "cpu", batch_size: int = 32,
                 max_length: int = 128) -> None:
        super().__init__(name, path=path, device=device)
        import torch  # lazily: the CPU profile never needs transformers
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self._torch = torch
        self.batch_size = batch_size
        self.max_length = max_length
        self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True)
        self.model_labels = map_model_labels(model.config.id2label)
        # One-hot (model class -> our emotion): sums probabilities if two classes share one.
        to_ours = np.zeros((len(self.model_labels), len(EMOTIONS)), dtype=np.float32)
        for i, label in enumerate(self.model_labels):
            to_ours[i, EMOTIONS.index(label)] = 1.0
        self._to_ours = to_ours
        self._model = model.to(device).eval()
        # Tokenizers may emit inputs the model lacks (BERT token_type_ids for DistilBERT).
        self._input_names = set(inspect.signature(model.forward).parameters)

    def scores(self, texts: list[str]) -> np.ndarray:
        """Probabilities, one row per text, columns in EMOTIONS order."""
        torch = self._torch
        if not texts:
            return np.zeros((0, len(EMOTIONS)), dtype=np.float32)
        rows = []
        for start in range(0, len(texts), self.batch_size):
            batch = self._tokenizer(texts[start:start + self.batch_size], padding=True,
                                    truncation=True, max_length=self.max_length,
                                    return_tensors="pt").to(self.device)
            inputs = {k: v for k, v in batch.items() if k in self._input_names}
            with torch.inference_mode():
                logits = self._model(**inputs).logits
            rows.append(torch.softmax(logits.float(), dim=-1).cpu().numpy())
        return np.concatenate(rows) @ self._to_ours

    def _classify_impl(self, texts: list[str]) -> list[tuple[str, float]]:
        return _most_likely(self.scores(texts))
