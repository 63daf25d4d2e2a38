"""Live captions under a flood: one real-time stream while another client floods the server.

    python -m bench.flood [--url URL] [--json] [--seconds N]

Streams a conversation at real time and reports its final delay (final event arrival minus
the VAD's end of speech) p50/p95, first alone, then while a second client keeps requests
at the per-request limits in flight: `/v1/emotion` and `/v1/embeddings` with
PARLEY_MAX_ITEMS texts of PARLEY_MAX_TEXT_CHARS characters, and transcriptions of a long
file. Without --url the models load (PARLEY_* settings) into an in-process server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import httpx
import numpy as np

from bench.audio import librivox_clips, load_conversation, load_pcm16k
from bench.inference import realtime
from inference_server.audio import encode_wav
from parley.settings import Settings

SENTENCE = "I honestly cannot believe how wonderful and surprising this whole afternoon turned out to be. "


async def _flood(url: str, settings: Settings, long_file: bytes, stop: asyncio.Event) -> dict[str, int]:
    text = (SENTENCE * (settings.max_text_chars // len(SENTENCE) + 1))[:settings.max_text_chars]
    texts = [text] * settings.max_items
    done = {"emotion": 0, "embeddings": 0, "transcriptions": 0, "refused": 0}

    async def loop(http: httpx.AsyncClient, kind: str, send) -> None:
        while not stop.is_set():
            response = await send(http)
            done[kind if response.status_code == 200 else "refused"] += 1

    async with httpx.AsyncClient(base_url=url, timeout=600) as http:
        kinds = {
            "emotion": lambda h: h.post("/v1/emotion", json={"texts": texts}),
            "embeddings": lambda h: h.post("/v1/embeddings", json={"input": texts}),
            "transcriptions": lambda h: h.post("/v1/audio/transcriptions", files={"file": ("long.wav", long_file)}),
        }
        tasks = [asyncio.create_task(loop(http, kind, send)) for kind, send in kinds.items() for _ in range(2)]
        await stop.wait()
        for task in tasks:
            task.cancel()  # abandoned mid-request: the server cancels their work
        await asyncio.gather(*tasks, return_exceptions=True)
    return done


async def run(url: str, settings: Settings, seconds: float) -> dict:
    conversation = load_conversation("short", Path(tempfile.mkdtemp(prefix="parley-flood-")))
    samples = conversation.samples()
    samples = np.tile(samples, int(np.ceil(seconds * 16000 / len(samples))))[:int(seconds * 16000)]
    long_file = encode_wav((np.concatenate([load_pcm16k(c.path) for c in librivox_clips()] * 2) * 32767
                            ).astype(np.int16), 16000)
    alone = await realtime(url, samples)
    stop = asyncio.Event()
    flood = asyncio.create_task(_flood(url, settings, long_file, stop))
    await asyncio.sleep(2.0)  # the flood's requests are queued before the stream starts
    flooded = await realtime(url, samples)
    stop.set()
    requests = await flood

    def delay(result: dict) -> dict:
        stats = result["final_after_speech_end_s"]
        return {"p50": round(stats["p50"], 3), "p95": round(stats["p95"], 3), "n": int(stats.get("n", 0))}

    return {"stream_seconds": seconds, "final_delay_alone_s": delay(alone), "final_delay_flooded_s": delay(flooded),
            "flood_requests_answered": requests,
            "limits": {"max_items": settings.max_items, "max_text_chars": settings.max_text_chars},
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running inference server (default: start one in-process)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the live stream")
    args = parser.parse_args()
    settings = Settings()
    if args.url:
        context = nullcontext(args.url)
    else:
        from bench.server import running_server
        from inference_server.loader import load_models

        models, _, _ = load_models(settings)
        context = running_server(settings, models)
    started = time.monotonic()
    with context as url:
        result = asyncio.run(run(url, settings, args.seconds))
    result["bench_seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
