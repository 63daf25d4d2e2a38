"""`python -m bench.devset [--rebuild] [--out DIR]`: build the dev set and list it."""

from __future__ import annotations

import argparse
from pathlib import Path

from .build import build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=None, help="Where to build it (default: the bench cache).")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    dev = build(args.out, rebuild=args.rebuild)
    for clip in dev.clips:
        print(f"{clip.set:11s} {clip.name:28s} {clip.text}")
    for conv in dev.conversations:
        print(f"{conv.kind:15s} {conv.duration_s:6.1f} s {conv.path}  {conv.stm or conv.rttm}")
    for reason in dev.skipped:
        print(f"skipped: {reason}")
    print(f"manifest: {dev.root / 'manifest.json'}")


if __name__ == "__main__":
    main()
