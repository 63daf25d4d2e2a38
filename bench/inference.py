"""Inference-server benchmark: accuracy, diarization, streaming speed and concurrency.

    python -m bench.inference [--url URL] [--json] [--quick]

Without --url it loads the models (PARLEY_* settings) into an in-process server. Prints:
WER of file vs streaming transcription (LibriVox clips and the two-voice conversations),
DER of both, the stream real-time factor, interim lag, and per-stream RTF with 1, 2 and 4
concurrent streams. Record results in bench/RESULTS.md with the machine they ran on.
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

import numpy as np

from bench.audio import conversation_names, librivox_clips, load_conversation, load_pcm16k
from bench.metrics import der, percentiles, wer
from bench.streams import stream_audio
from inference_server.audio import encode_wav
from inference_server.client import InferenceClient
from inference_server.protocol import SAMPLE_RATE

TAIL = np.zeros(SAMPLE_RATE, dtype=np.float32)  # a second of silence closes the last utterance


async def file_vs_stream(url: str, items: list[tuple[str, np.ndarray, str]]) -> dict:
    """items: (name, samples, reference). WER of file transcription and of streaming."""
    refs, file_hyps, stream_hyps = [], [], []
    async with InferenceClient(url, timeout=600) as client:
        for _, samples, reference in items:
            transcript = await client.transcribe(encode_wav((samples * 32767).astype(np.int16), SAMPLE_RATE))
            run = await stream_audio(url, np.concatenate([samples, TAIL]), speed=None)
            refs.append(reference)
            file_hyps.append(transcript.text)
            stream_hyps.append(run.text)
    return {"file_wer": wer(refs, file_hyps), "stream_wer": wer(refs, stream_hyps)}


async def diarization(url: str, conversations) -> dict:
    file_der, stream_der, file_wer, stream_wer = [], [], [], []
    async with InferenceClient(url, timeout=600) as client:
        for conversation in conversations:
            samples = conversation.samples()
            transcript = await client.transcribe(conversation.path)
            run = await stream_audio(url, samples, speed=None)
            file_der.append(der(conversation.turns, transcript.segments).der)
            stream_der.append(der(conversation.turns, run.finals).der)
            file_wer.append(wer(conversation.text, transcript.text))
            stream_wer.append(wer(conversation.text, run.text))
    return {"conversations": [c.path.stem for c in conversations],
            "file_der": float(np.mean(file_der)), "stream_der": float(np.mean(stream_der)),
            "file_wer": float(np.mean(file_wer)), "stream_wer": float(np.mean(stream_wer)),
            "per_conversation_stream_der": [round(d, 4) for d in stream_der]}


async def realtime(url: str, samples: np.ndarray) -> dict:
    """Stream at real time: interim lag = audio sent so far minus the interim's end time."""
    run = await stream_audio(url, np.concatenate([samples, TAIL]), speed=1.0, chunk_ms=20)
    lags = [sent - event.end for event, sent in zip(run.events, run.arrival) if event.type == "interim"]
    ends = {e.utterance_id: e.end for e in run.events if e.type == "speech_ended"}
    final_lat = [sent - ends[e.utterance_id] for e, sent in zip(run.events, run.arrival)
                 if e.type == "final" and e.utterance_id in ends]
    return {"interim_lag_s": percentiles(lags), "final_after_speech_end_s": percentiles(final_lat),
            "interims": len(lags)}


async def concurrency(url: str, samples: np.ndarray, counts=(1, 2, 4)) -> dict:
    """N streams at once. Unpaced: per-stream RTF = wall time / audio time while sharing the
    device. Paced (real time): interim lag and final delay must stay bounded."""
    audio = np.concatenate([samples, TAIL])
    seconds = len(audio) / SAMPLE_RATE
    out = {}
    for n in counts:
        started = time.monotonic()
        await asyncio.gather(*(stream_audio(url, audio, speed=None) for _ in range(n)))
        unpaced_rtf = (time.monotonic() - started) / seconds
        runs = await asyncio.gather(*(realtime(url, samples) for _ in range(n)))
        out[str(n)] = {
            "rtf_per_stream": round(unpaced_rtf, 3),
            "throughput_x_realtime": round(n / unpaced_rtf, 2),
            "realtime_interim_lag_p50": round(float(np.nanmedian([r["interim_lag_s"]["p50"] for r in runs])), 3),
            "realtime_final_delay_p50": round(float(np.nanmedian(
                [r["final_after_speech_end_s"]["p50"] for r in runs])), 3),
        }
    return out


async def run(url: str, quick: bool) -> dict:
    clips = librivox_clips()
    convo_dir = Path(tempfile.mkdtemp(prefix="parley-bench-"))
    names = ["short"] if quick else [n for n in conversation_names() if n != "short"]
    conversations = [load_conversation(n, convo_dir) for n in names]
    librivox = [(c.name, load_pcm16k(c.path), c.text) for c in clips]
    long_sample = np.concatenate([x for _, x, _ in librivox[:3]])

    started = time.monotonic()
    stream_start = time.monotonic()
    await stream_audio(url, np.concatenate([long_sample, TAIL]), speed=None)
    stream_rtf = (time.monotonic() - stream_start) / (len(long_sample) / SAMPLE_RATE + 1)
    result = {
        "librivox": await file_vs_stream(url, librivox),
        "conversations": await diarization(url, conversations),
        "stream_rtf": round(stream_rtf, 3),
        "realtime_single_stream": await realtime(url, conversations[0].samples()),
        "concurrency": await concurrency(url, librivox[0][1], (1, 2) if quick else (1, 2, 4)),
    }
    async with InferenceClient(url) as client:
        info = await client.info()
    result["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(), "device": info.device,
                         "models": {m.capability: m.name for m in info.models}}
    result["bench_seconds"] = round(time.monotonic() - started, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running inference server (default: start one in-process)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="short conversation, 1-2 streams")
    args = parser.parse_args()

    if args.url:
        context = nullcontext(args.url)
    else:
        from bench.server import running_server
        from inference_server.loader import load_models
        from parley.settings import Settings

        settings = Settings()
        models, _, _ = load_models(settings)
        context = running_server(settings, models)
    with context as url:
        result = asyncio.run(run(url, args.quick))
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
