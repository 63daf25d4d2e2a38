"""The live speaker-change detector scored offline: true changes found, false ones made.

    python -m bench.speaker_changes [--window 1.0 --window 1.5] [--threshold 0.6 --threshold 0.7] [--json]

Real voice embeddings (the default speaker model) of sliding windows feed the stream's own
`SpeakerChangeDetector`, once per window length and threshold, on the dev set's conversations
(their reference turns give the true change points) and on its single-speaker clips (the
LibriVox readers, the cards and goforward recordings: every change found there is false). Each
file is one continuous stream: no VAD pause restarts the windows, which is stricter than live.
A change within `--tolerance` of a reference change finds it; any other is false. A change is
known `window + hop` after it happens, which is what a caption cut there waits for.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from bench.audio import SAMPLE_RATE, load_pcm16k
from bench.devset.build import build
from bench.machine import MachineWatch
from bench.reference import read_rttm
from inference_server.loader import load_models
from inference_server.speaker_changes import SpeakerChangeDetector
from parley.settings import Settings

SINGLE_SPEAKER_SETS = ("librivox", "real-short", "real-other")


def reference_changes(rttm: str) -> list[float]:
    """Seconds where the reference's speaker changes (the next speaker's start)."""
    turns = sorted(read_rttm(rttm).turns, key=lambda t: t.start)
    return [b.start for a, b in zip(turns, turns[1:]) if a.speaker != b.speaker]


def window_embeddings(embed, audio: np.ndarray, window: int, hop: int) -> list[tuple[int, np.ndarray | None]]:
    ends = list(range(window, len(audio) + 1, hop))
    return list(zip(ends, embed([audio[end - window:end] for end in ends])))


def detect(windows: list[tuple[int, np.ndarray | None]], window: int, hop: int, threshold: float) -> list[float]:
    detector = SpeakerChangeDetector(window=window, hop=hop, threshold=threshold)
    detector.start(0)
    changes = [change for end, embedding in windows if (change := detector.add(end, embedding)) is not None]
    if (last := detector.pending()) is not None:
        changes.append(last)
    return [change / SAMPLE_RATE for change in changes]


def match(found: list[float], truth: list[float], tolerance: float) -> int:
    """How many true changes a found one lies near (each counted once)."""
    left, hits = list(truth), 0
    for change in found:
        near = [t for t in left if abs(t - change) <= tolerance]
        if near:
            left.remove(min(near, key=lambda t: abs(t - change)))
            hits += 1
    return hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--window", type=float, action="append", help="seconds (default: 1.0 and 1.5)")
    parser.add_argument("--threshold", type=float, action="append", help="cosine (default: 0.5, 0.6, 0.7)")
    parser.add_argument("--hop", type=float, default=Settings().change_hop_s)
    parser.add_argument("--tolerance", type=float, default=0.5, help="seconds between a found and a true change")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    watch = MachineWatch()
    dev = build()
    models, _, _ = load_models(Settings())
    hop = int(args.hop * SAMPLE_RATE)
    files = [(c.name, load_pcm16k(c.path), reference_changes(c.rttm)) for c in dev.conversations]
    files += [(c.name, load_pcm16k(c.path), []) for s in SINGLE_SPEAKER_SETS for c in dev.clips_of(s)]
    rows = []
    for window_s in args.window or [1.0, 1.5]:
        window = int(window_s * SAMPLE_RATE)
        embedded = [(name, truth, len(audio) / SAMPLE_RATE, window_embeddings(models.speaker.embed, audio, window, hop))
                    for name, audio, truth in files]
        for threshold in args.threshold or [0.5, 0.6, 0.7]:
            row = {"window_s": window_s, "threshold": threshold, "known_after_s": round(window_s + args.hop, 2),
                   "files": {}}
            for name, truth, seconds, windows in embedded:
                found = detect(windows, window, hop, threshold)
                hits = match(found, truth, args.tolerance)
                row["files"][name] = {"true": len(truth), "found": hits, "false": len(found) - hits,
                                      "minutes": round(seconds / 60, 3)}
            single = [f for f in row["files"].values() if f["true"] == 0]
            conversations = [f for f in row["files"].values() if f["true"] > 0]
            row["recall"] = round(sum(f["found"] for f in conversations) / sum(f["true"] for f in conversations), 3)
            row["false_per_min_conversations"] = round(sum(f["false"] for f in conversations)
                                                       / sum(f["minutes"] for f in conversations), 2)
            row["false_per_min_one_voice"] = round(sum(f["false"] for f in single) / sum(f["minutes"] for f in single), 2)
            rows.append(row)
    models.close()
    if args.json:
        print(json.dumps({"rows": rows, "machine": watch.describe()}))
        return
    print(f"{'window':>6} {'thresh':>6} {'known after':>11} {'recall':>6} {'false/min conv':>14} "
          f"{'false/min one voice':>19}  per file: found/true +false")
    for row in rows:
        files = " ".join(f"{name}:{f['found']}/{f['true']}+{f['false']}" for name, f in row["files"].items()
                         if f["true"] or f["false"])
        print(f"{row['window_s']:6.1f} {row['threshold']:6.2f} {row['known_after_s']:10.2f}s {row['recall']:6.2f} "
              f"{row['false_per_min_conversations']:14.2f} {row['false_per_min_one_voice']:19.2f}  {files}")


if __name__ == "__main__":
    main()
