"""Live-caption benchmark: play one audio file into a Parley room and time the captions.

Everything is measured at the client, on its clock, so it includes WebRTC transport:
- final latency: end of the final's speech in the played audio -> the final arriving.
  Where the speech stops inside the final, the end comes from the audio itself: the end of
  the last loud stretch (10 ms frames within 35 dB of the file's peak) in (start, end + 0.3 s],
  mapped to wall-clock as `first sample sent + t`; the slack covers the VAD's post-roll. A
  final cut inside continuous speech (a sentence end, a speaker change: the audio stays loud
  past its end) ends where it was cut, its own `end`.
- interim lag: how far an interim's text trails the live audio when it arrives:
  (arrival - first sample sent) - the interim's `end` (audio time its text was decoded to).

Against a running server (`url`), the client signs in as the admin: set PARLEY_ADMIN_PASSWORD.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import numpy as np

from bench.audio import load_pcm16k
from bench.metrics import percentiles, wer
from bench.parley_process import running_parley
from bench.reference import Reference, score
from bench.room_client import Received, RoomClient

FRAME_S = 0.01
LOUD_DB = 35.0  # below the file's loudest frame: silence
END_SLACK_S = 0.3
SETTLE_S = 3.0  # after the file ends, wait for captions to go quiet this long
MAX_WAIT_S = 15.0


def speech_regions(samples: np.ndarray, sample_rate: int = 16000, min_gap_s: float = 0.2) -> list[tuple[float, float]]:
    """(start, end) seconds of loud stretches; gaps shorter than `min_gap_s` are bridged."""
    frame = int(FRAME_S * sample_rate)
    n = len(samples) // frame
    if n == 0:
        return []
    rms = np.sqrt(np.mean(samples[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    loud = rms > rms.max() * 10 ** (-LOUD_DB / 20)
    regions: list[tuple[float, float]] = []
    for i in np.flatnonzero(loud):
        start, end = i * FRAME_S, (i + 1) * FRAME_S
        if regions and start - regions[-1][1] < min_gap_s:
            regions[-1] = (regions[-1][0], end)
        else:
            regions.append((start, end))
    return regions


def utterance_end(final: dict, regions: list[tuple[float, float]]) -> float | None:
    """Where the final's speech ends in the audio; None for a final over silence (nothing to time).

    A loud stretch that ended before the final began is an earlier final's: counting it made a
    final cut in continuous speech look seconds late.
    """
    start, end = final["start"], final["end"]
    ends = [stop for _, stop in regions if start < stop <= end + END_SLACK_S]
    if ends:
        return max(ends)
    if any(begin < end <= stop for begin, stop in regions):
        return end  # cut inside speech that goes on
    return None


def summarize(client: RoomClient, samples: np.ndarray, reference: str | None,
              scored_against: Reference | None = None) -> dict:
    t0 = client.microphone.started_at
    own = client.participant_id
    finals = [r for r in client.of_type("final") if r.event["participant_id"] == own]
    interims = [r for r in client.of_type("interim") if r.event["participant_id"] == own]
    regions = speech_regions(samples)
    ends = [utterance_end(r.event, regions) for r in finals]
    per_final = [None if end is None else round(r.at - (t0 + end), 3) for r, end in zip(finals, ends)]
    latencies = [latency for latency in per_final if latency is not None]
    lags = [(r.at - t0) - r.event["end"] for r in interims]
    text = " ".join(r.event["text"] for r in finals)
    result = {
        "finals": [{**{k: r.event[k] for k in ("text", "speaker", "start", "end")}, "latency_s": latency}
                   for r, latency in zip(finals, per_final)],
        "interim_lag_s": _p50_p95(lags),
        "final_latency_s": _p50_p95(latencies),
        "counts": {"finals": len(finals), "finals_timed": len(latencies), "interims": len(interims),
                   "utterances_in_audio": len(speech_regions(samples, min_gap_s=0.4))},
        "audio_s": round(len(samples) / 16000, 2),
    }
    if reference:
        result["wer"] = round(wer(reference, text), 4)
    if scored_against is not None:
        result["reference_scores"] = {**score(scored_against, result["finals"]),
                                      "final_latency_s": result["final_latency_s"]}
    return result


def _p50_p95(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None}
    stats = percentiles(values)
    return {"p50": round(stats["p50"], 3), "p95": round(stats["p95"], 3)}


def reference_text(audio: Path) -> str | None:
    """Ground truth when known: a bench.audio sidecar (`x.json` beside `x.wav`) or a LibriVox clip."""
    sidecar = audio.with_suffix(".json")
    if sidecar.exists():
        try:
            return json.loads(sidecar.read_text())["text"]
        except (ValueError, KeyError):
            return None
    from bench.audio import librivox_clips

    try:
        return next((clip.text for clip in librivox_clips() if clip.path.resolve() == audio.resolve()), None)
    except (FileNotFoundError, RuntimeError):
        return None


async def bench_captions(audio: Path, url: str | None = None, reference: Reference | None = None) -> dict:
    """Play `audio` into a room; with a `reference` (RTTM/STM) also score DER, WER and finals."""
    if url is None:
        async with running_parley() as parley:
            return await _play(audio, parley.url, reference)
    return await _play(audio, url, reference)


async def _play(audio: Path, url: str, reference: Reference | None) -> dict:
    samples = load_pcm16k(audio)
    client = RoomClient(url, f"bench-{uuid.uuid4().hex[:8]}", "Bench", audio)
    await client.join()
    try:
        await client.microphone.finished.wait()
        await _settle(client)
    finally:
        await client.leave()
    return summarize(client, samples, reference_text(audio), reference)


async def _settle(client: RoomClient) -> None:
    """Wait until no caption event arrived for SETTLE_S (at most MAX_WAIT_S)."""
    deadline = time.monotonic() + MAX_WAIT_S
    while time.monotonic() < deadline:
        last: Received | None = next((r for r in reversed(client.events)
                                      if r.event["type"] in ("interim", "final", "speaking")), None)
        quiet = last is None or time.monotonic() - last.at >= SETTLE_S
        if quiet and not _utterance_open(client):
            return
        await asyncio.sleep(0.2)


def _utterance_open(client: RoomClient) -> bool:
    """Speech started but its final has not come yet."""
    speaking = [r.event["speaking"] for r in client.of_type("speaking")]
    return bool(speaking) and speaking[-1]
