"""End-of-turn delay on live streams, old code against new, in one run with alternating arms.

    python -P bench/turn_delay.py --arm old=/work/main --arm new=. --rounds 2

Each arm is a source tree; every round runs each arm once, in turn, as a subprocess with that
tree on PYTHONPATH (`-P`: not this file's folder), so both see the same machine load. An arm
serves the real default models in-process and streams, at real time over /v1/stream, the dev
set's piper questions (one complete question each) and the paused turns (a pause inside an
unfinished sentence), then silence until the turn ends. Per turn it records the delay from
the end of speech in the signal to the EndOfTurn event, the reason, whether a preflight came
first, and, for a paused turn, whether a turn ended inside the pause (a cut-off).

Uses only modules every arm has (bench.audio, bench.server, bench.paused_speech, the client).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time

CHUNK = 640  # 40 ms
TAIL_S = 4.0  # silence sent after the speech when no turn ended


def _speech_end(audio) -> float:
    """Seconds into `audio` where its last loud 10 ms ends (the signal's end of speech)."""
    import numpy as np

    frame = 160
    n = len(audio) // frame
    rms = np.sqrt(np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(rms > rms.max() * 10 ** (-35 / 20))
    return (loud[-1] + 1) * frame / 16000


async def _talk(url: str, audio, pause: tuple[float, float] | None) -> dict:
    import numpy as np

    from bench.audio import pcm16_bytes
    from inference_server.client import InferenceClient
    from inference_server.protocol import EndOfTurn, Preflight

    speech_end = _speech_end(audio)
    ends: list[tuple[float, EndOfTurn]] = []
    preflights: list[tuple[float, str]] = []
    async with InferenceClient(url) as client, client.stream() as stream:
        started = time.monotonic()

        async def receive() -> None:
            async for event in stream:
                at = time.monotonic() - started  # seconds of audio sent when it arrived
                if isinstance(event, EndOfTurn):
                    ends.append((at, event))
                elif isinstance(event, Preflight):
                    preflights.append((at, event.text))

        receiver = asyncio.create_task(receive())
        sent, silence = 0, np.zeros(CHUNK, np.float32)
        after = pause[1] if pause else 0.0  # an end before this is a cut-off, not the turn's end
        while sent < len(audio) or (not [e for _, e in ends if e.end >= after]
                                    and sent < len(audio) + TAIL_S * 16000):
            chunk = audio[sent:sent + CHUNK] if sent < len(audio) else silence
            await stream.send_audio(pcm16_bytes(chunk))
            sent += CHUNK
            await asyncio.sleep(max(0.0, started + sent / 16000 - time.monotonic()))
        await stream.end()
        await asyncio.wait_for(receiver, 60)
    cut = [e for _, e in ends if e.end < after]
    final = [(at, e) for at, e in ends if e.end >= after]
    at, end = final[0] if final else (None, None)
    return {"delay": round(at - speech_end, 3) if at is not None else None,
            "reason": end.reason if end else None, "cut": bool(cut),
            "preflight_lead": round(at - preflights[-1][0], 3) if preflights and at is not None else None,
            "preflight": preflights[-1][1] if preflights else None}


def worker(rounds_tag: str) -> None:
    import numpy as np

    from bench.audio import load_pcm16k
    from bench.devset.build import build
    from bench.paused_speech import paused_turns
    from bench.server import running_server
    from inference_server.loader import load_models
    from parley.settings import Settings

    settings = Settings(_env_file=None)
    models, _, _ = load_models(settings)
    items = [(c.name, load_pcm16k(c.path), None) for c in build().clips if c.set == "piper"]
    items += [(t.name, t.audio, (t.pause_at, t.pause_at + t.pause_s)) for t in paused_turns()]
    lead = np.zeros(int(0.5 * 16000), np.float32)
    with running_server(settings, models) as url:
        asyncio.run(_talk(url, np.concatenate([lead, items[0][1]]), None))  # warm-up, not counted
        for name, audio, pause in items:
            shifted = (pause[0] + 0.5, pause[1] + 0.5) if pause else None
            row = asyncio.run(_talk(url, np.concatenate([lead, audio]), shifted))
            print(json.dumps({"arm": rounds_tag, "name": name, "paused": pause is not None, **row}), flush=True)
    models.close()


def _summary(rows: list[dict]) -> dict:
    def pct(values: list[float], q: float) -> float | None:
        return round(statistics.quantiles(values, n=100)[q - 1], 3) if len(values) > 1 else None

    whole = [r["delay"] for r in rows if not r["paused"] and r["delay"] is not None]
    paused = [r["delay"] for r in rows if r["paused"] and r["delay"] is not None]
    reasons: dict[str, int] = {}
    for r in rows:
        reasons[str(r["reason"])] = reasons.get(str(r["reason"]), 0) + 1
    return {"questions": len(whole), "question_delay_p50": pct(whole, 50), "question_delay_p95": pct(whole, 95),
            "paused": len(paused), "paused_delay_p50": pct(paused, 50),
            "cut_offs": sum(r["cut"] for r in rows if r["paused"]), "no_end": sum(r["delay"] is None for r in rows),
            "with_preflight": sum(r["preflight_lead"] is not None for r in rows), "reasons": reasons}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arm", action="append", default=[], help="NAME=SOURCE_TREE (repeat)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    rows: list[dict] = []
    for _ in range(args.rounds):
        for name, tree in (arm.split("=", 1) for arm in args.arm):
            env = {**os.environ, "PYTHONPATH": os.path.abspath(tree)}
            with subprocess.Popen([sys.executable, "-P", os.path.abspath(__file__), "--worker", name], env=env,
                                  stdout=subprocess.PIPE, text=True) as worker_process:
                for line in worker_process.stdout:
                    if line.startswith("{"):
                        rows.append(json.loads(line))
                        print(line, end="", flush=True)
            if worker_process.returncode:
                raise SystemExit(f"arm {name} failed ({worker_process.returncode})")
    for name in dict.fromkeys(arm.split("=", 1)[0] for arm in args.arm):
        print(json.dumps({"summary": name, **_summary([r for r in rows if r["arm"] == name])}))


if __name__ == "__main__":
    main()
