"""Speaker models compared on real conversations: windows of one voice against windows of two.

    python -m bench.speaker_models [--model NAME ...] [--window 1.5] [--hop 0.25] [--json]

Each catalog speaker model (prepared first: `parley models pull --model NAME`) embeds the
windows that lie wholly inside one reference speaker's turn of each dev-set conversation (the
real telephone call and the splices of real readers); every pair of windows is one voice or
two. Prints the mean cosine similarity of each kind, the equal error rate (the threshold where
as many one-voice pairs fall below as two-voice pairs rise above) and the time per window.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from bench.audio import SAMPLE_RATE, load_pcm16k
from bench.devset.build import build
from bench.machine import MachineWatch
from bench.reference import read_rttm
from inference_server.catalog import get_entry, resolve
from inference_server.loader import load_speaker
from parley.settings import Settings

DEFAULT_MODELS = ("resemblyzer-ge2e", "campplus-zh-en")


def one_voice_windows(turns: list[tuple[float, float, str]], window: float, hop: float) -> list[tuple[float, str]]:
    """(start, speaker) of each window lying inside one speaker's turn and no other speaker's."""
    out = []
    for start, end, speaker in turns:
        others = [(a, b) for a, b, s in turns if s != speaker]
        t = start
        while t + window <= end:
            if not any(a < t + window and t < b for a, b in others):
                out.append((t, speaker))
            t += hop
    return out


def equal_error_rate(same: list[float], different: list[float]) -> float:
    """Where the share of one-voice pairs below a threshold meets the share of two-voice pairs above it."""
    best = 1.0
    for threshold in sorted(same + different):
        misses = np.mean(np.asarray(same) < threshold)
        false_alarms = np.mean(np.asarray(different) >= threshold)
        best = min(best, max(misses, false_alarms))
    return float(best)


def score(vectors: list[np.ndarray], speakers: list[str]) -> dict:
    same, different = [], []
    for i in range(len(vectors)):
        for j in range(i + 1, len(vectors)):
            (same if speakers[i] == speakers[j] else different).append(float(vectors[i] @ vectors[j]))
    return {"windows": len(vectors), "same": round(float(np.mean(same)), 3),
            "different": round(float(np.mean(different)), 3), "eer": round(equal_error_rate(same, different), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", help=f"catalog name (default: {', '.join(DEFAULT_MODELS)})")
    parser.add_argument("--window", type=float, default=1.5, help="seconds")
    parser.add_argument("--hop", type=float, default=0.25, help="seconds")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    watch, settings, dev = MachineWatch(), Settings(), build()
    rows = []
    for name in args.model or DEFAULT_MODELS:
        entry = get_entry(name)
        encoder = load_speaker(entry, resolve(entry, settings.models_dir))
        row = {"model": name, "conversations": {}}
        seconds = []
        for conversation in dev.conversations:
            audio = load_pcm16k(conversation.path)
            turns = [(t.start, t.end, t.speaker) for t in read_rttm(conversation.rttm).turns]
            windows = one_voice_windows(turns, args.window, args.hop)
            clips = [audio[int(s * SAMPLE_RATE):int((s + args.window) * SAMPLE_RATE)] for s, _ in windows]
            started = time.perf_counter()
            vectors = encoder.embed(clips)
            seconds.append((time.perf_counter() - started) / max(1, len(clips)))
            kept = [(v, s) for v, (_, s) in zip(vectors, windows) if v is not None]
            row["conversations"][conversation.name] = score([v for v, _ in kept], [s for _, s in kept])
        row["seconds_per_window"] = round(float(np.mean(seconds)), 4)
        rows.append(row)
        encoder.close()
    if args.json:
        print(json.dumps({"rows": rows, "window_s": args.window, "hop_s": args.hop, "machine": watch.describe()}))
        return
    print(f"{'model':<18} {'conversation':<18} {'windows':>7} {'same':>6} {'diff':>6} {'EER':>6}")
    for row in rows:
        for name, result in row["conversations"].items():
            print(f"{row['model']:<18} {name:<18} {result['windows']:>7} {result['same']:6.3f} "
                  f"{result['different']:6.3f} {result['eer']:6.1%}")
        print(f"{row['model']:<18} {row['seconds_per_window'] * 1000:.1f} ms a window")


if __name__ == "__main__":
    main()
