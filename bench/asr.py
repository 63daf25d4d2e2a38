"""ASR models compared on the development set: WER and decode time per clip, per channel.

    python -m bench.asr --model whisper-tiny.en --model moonshine-base-en [--json]

Each clip is decoded alone (as a final is), by every model in turn, so both see the same
machine load; times are wall-clock per clip on this machine. Channels: the clean file, an
Opus round trip at 12/24/32 kbps (20 ms frames, libopus via PyAV, as WebRTC sends), and
telephone band (8 kHz). Sets are scored separately: real recordings (LibriVox, short real
utterances, beckett), piper questions, espeak questions (a voice every model mishears).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from collections.abc import Callable

import numpy as np

from bench.audio import load_pcm16k
from bench.devset import build
from bench.devset.degrade import opus_round_trip, telephone
from bench.metrics import wer

CHANNELS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "clean": lambda a: a,
    "opus12": lambda a: opus_round_trip(a, 12000),
    "opus24": lambda a: opus_round_trip(a, 24000),
    "opus32": lambda a: opus_round_trip(a, 32000),
    "telephone": telephone,
}
SETS = ("librivox", "real-short", "real-other", "piper", "espeak")


def _load(names: list[str], threads: int):
    from inference_server.catalog import get_entry, resolve
    from inference_server.loader import load_asr
    from parley.settings import process_settings

    models_dir = process_settings().models_dir
    return {name: load_asr(get_entry(name), resolve(get_entry(name), models_dir), "cpu", threads) for name in names}


def run(names: list[str], channels: list[str], sets: list[str], threads: int) -> dict:
    dev = build()
    models = _load(names, threads)
    for model in models.values():  # first decode pays one-time setup
        model.recognize([load_pcm16k(dev.clips[0].path)])
    texts: dict[tuple, list[str]] = defaultdict(list)
    refs: dict[tuple, list[str]] = defaultdict(list)
    seconds: dict[tuple, list[float]] = defaultdict(list)
    audio_s: dict[tuple, list[float]] = defaultdict(list)
    mistakes: list[dict] = []
    for set_name in sets:
        for clip in dev.clips_of(set_name):
            clean = load_pcm16k(clip.path)
            for channel in channels:
                audio = CHANNELS[channel](clean)
                for name, model in models.items():
                    started = time.perf_counter()
                    text = model.recognize([audio])[0].text
                    key = (name, set_name, channel)
                    seconds[key].append(time.perf_counter() - started)
                    audio_s[key].append(len(audio) / 16000)
                    texts[key].append(text)
                    refs[key].append(clip.text)
                    if wer(clip.text, text) > 0:
                        mistakes.append({"model": name, "clip": clip.name, "channel": channel,
                                         "reference": clip.text, "heard": text})
    rows = [{"model": name, "set": set_name, "channel": channel, "clips": len(refs[key]),
             "wer": round(wer(refs[key], texts[key]), 4),
             "seconds_per_clip": round(float(np.mean(seconds[key])), 3),
             "audio_s_per_clip": round(float(np.mean(audio_s[key])), 2)}
            for key in texts for name, set_name, channel in [key]]
    for model in models.values():
        model.close()
    return {"rows": rows, "mistakes": mistakes, "skipped": dev.skipped}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", default=[], help="Catalog name (repeat to compare).")
    parser.add_argument("--channel", action="append", choices=list(CHANNELS), default=[])
    parser.add_argument("--set", action="append", choices=SETS, default=[])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="One JSON object with every decode that was wrong.")
    args = parser.parse_args()
    result = run(args.model or ["whisper-tiny.en", "moonshine-base-en"], args.channel or list(CHANNELS),
                 args.set or list(SETS), args.threads)
    if args.json:
        print(json.dumps(result, indent=1))
        return
    table: dict[tuple, dict[str, dict]] = defaultdict(dict)
    for row in result["rows"]:
        table[(row["set"], row["channel"])][row["model"]] = row
    for (set_name, channel), by_model in table.items():
        cells = "  ".join(f"{name}: WER {row['wer']:6.1%} {row['seconds_per_clip']:5.2f} s/clip"
                          for name, row in by_model.items())
        clip = next(iter(by_model.values()))
        print(f"{set_name:11s} {channel:9s} ({clip['clips']:2d} clips, {clip['audio_s_per_clip']:4.1f} s)  {cells}")
    for reason in result["skipped"]:
        print(f"skipped: {reason}")


if __name__ == "__main__":
    main()
