"""Voice benchmark: talk to the assistant through a real WebRTC room; time its replies at the client.

Each audio file is played as one user turn in real time; the client waits for the reply.
- e2e latency: end of the user's speech in the played audio (the last loud 10 ms frame) ->
  the first audible sample of the reply, as decoded from the room's track.
- cut-off rate: the fraction of turns whose reply audio started before the end of the user's
  speech in the played file (a turn may hold a mid-sentence pause: bench/paused_speech.py);
  each reply says `cut_off: true|false`.
- barge-in stop: the client asks for a long answer, and one second into the spoken answer,
  while it is audible, talks over it; from the onset of that speech to the last audible
  reply sample within the next second (the answer to the barge-in comes later than that).
  A reply that ended by itself first does not count; the client asks again.
The per-stage breakdown is the server's own per-turn metrics (`turn_metrics` room events,
LiveKit's names), collected over the same turns.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from bench.audio import load_pcm16k, render_turn
from bench.captions import speech_regions
from bench.machine import MachineWatch
from bench.metrics import percentiles
from bench.parley_process import running_parley
from bench.room_client import RTC_RATE, RoomClient

AUDIBLE = 0.02  # |sample| above this is reply audio (Opus leaves the silence between words near 0)
STOP_WINDOW_S = 1.0  # reply audio within this long after the barge-in's onset counts as not stopped yet
REPLY_TIMEOUT_S = 90.0  # a cold LLM on a busy CPU
SETTLE_S = 0.8  # after a reply ends, before the next turn
STAGES = ("end_of_utterance_delay", "transcription_delay", "ttft", "ttfb", "e2e_latency")
STORY = "Tell me about the history of Paris."  # the default LLM answers this at length
# One per barge-in trial: asked the same question again, the model copied its cut-off answer
# ("Paris has a rich —") instead of answering, which left nothing long enough to talk over.
STORIES = (STORY, "Tell me about the history of Rome.", "Tell me about the history of London.",
           "Tell me about the history of Tokyo.", "Tell me about the history of Cairo.",
           "Tell me about the history of Vienna.")
STOP = "Wait, stop please."
VOICE = "piper:en_US-joe-medium"


class ListeningClient(RoomClient):
    """A room participant that also keeps the audio it receives, sample by sample, with arrival times."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.received: list[tuple[float, np.ndarray]] = []  # (arrival, mono float samples at 48 kHz)

    async def _listen(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                samples = frame.to_ndarray().reshape(-1, len(frame.layout.channels))[:, 0] / 32768.0
                at = time.monotonic()
                self.received.append((at, samples))
                self.heard.append((at, float(np.sqrt(np.mean(samples ** 2)))))
        except MediaStreamError:
            pass

    def first_audible(self, since: float) -> float | None:
        for at, samples in self.received:
            if at >= since and (loud := np.flatnonzero(np.abs(samples) > AUDIBLE)).size:
                return at + loud[0] / RTC_RATE
        return None

    def audible_now(self, window_s: float = 0.06) -> bool:
        """Reply audio in the frames received within the last `window_s`."""
        since = time.monotonic() - window_s
        return any(at >= since and np.abs(samples).max(initial=0) > AUDIBLE for at, samples in self.received[-10:])

    def last_audible(self, start: float, end: float) -> float:
        """The last audible sample received in [start, end), or `start` if none."""
        last = start
        for at, samples in self.received:
            if start <= at < end and (loud := np.flatnonzero(np.abs(samples) > AUDIBLE)).size:
                last = at + loud[-1] / RTC_RATE
        return last


async def bench_voice(audio: list[Path], url: str | None = None, barge_ins: int = 3) -> dict:
    if url is None:
        async with running_parley() as parley:
            return await _run(audio, parley.url, barge_ins)
    return await _run(audio, url, barge_ins)


async def _run(files: list[Path], url: str, barge_ins: int) -> dict:
    watch = MachineWatch()
    client = ListeningClient(url, f"voice-{uuid.uuid4().hex[:8]}", "Bench")
    await client.join()
    await asyncio.sleep(6.0)  # as a person would: the room's prompt is prefilled meanwhile
    turns, trials = [], []
    try:
        for path in files:
            turns.append(await spoken_turn(client, load_pcm16k(path, RTC_RATE)))
        stop = render_turn(VOICE, STOP, sample_rate=RTC_RATE)
        for attempt in range(2 * barge_ins):  # a reply that ends by itself first is no barge-in: try again
            if sum(t["outcome"] == "interrupted" for t in trials) == barge_ins:
                break
            story = render_turn(VOICE, STORIES[attempt % len(STORIES)], sample_rate=RTC_RATE)
            trials.append(await barge_in_trial(client, story, stop))
    finally:
        await client.leave()
    return _summary(turns, trials, watch)


def _speech_end(audio: np.ndarray) -> float:
    regions = speech_regions(audio, RTC_RATE)
    if not regions:
        raise ValueError("the audio has no speech")
    return regions[-1][1]


async def _say(client: ListeningClient, audio: np.ndarray) -> float:
    """Play `audio` next; returns the wall-clock time of its first sample."""
    offset = client.microphone.say(audio)
    while client.microphone.started_at is None:
        await asyncio.sleep(0.01)
    return client.microphone.started_at + offset


async def _next_turn_metrics(client: ListeningClient, after: int, timeout: float) -> dict:
    received = await client.wait_for(lambda e: e["type"] == "turn_metrics" and e["turn"] > after, timeout)
    return received.event


def _last_turn(client: ListeningClient) -> int:
    return max((r.event["turn"] for r in client.of_type("turn_metrics")), default=0)


def _reply_text(client: ListeningClient, since: float) -> str:
    """The assistant's first reply captioned after `since`."""
    finals = [r for r in client.of_type("final") if r.at >= since and r.event["participant_id"] == "assistant"]
    return finals[0].event["text"] if finals else ""


async def spoken_turn(client: ListeningClient, audio: np.ndarray) -> dict:
    """Play one user turn (48 kHz float) and wait for the assistant's reply to it."""
    last = _last_turn(client)
    start = await _say(client, audio)
    speech_end = start + _speech_end(audio)
    metrics = await _next_turn_metrics(client, last, REPLY_TIMEOUT_S + len(audio) / RTC_RATE)
    while time.monotonic() < speech_end + SETTLE_S:  # a reply into a pause: the speaker goes on and is answered
        await asyncio.sleep(0.05)
    await asyncio.sleep(SETTLE_S)
    earliest = client.first_audible(start)
    first = client.first_audible(speech_end)
    heard = [r.event["text"] for r in client.of_type("final") if r.at >= start and r.event["participant_id"] != "assistant"]
    return {"e2e": first - speech_end if first is not None else None, "metrics": metrics, "heard": " ".join(heard),
            "text": _reply_text(client, start), "audio_s": metrics.get("reply_audio_s", 0.0),
            "cut_off": bool(earliest is not None and earliest < speech_end)}


async def barge_in_trial(client: ListeningClient, story: np.ndarray, stop: np.ndarray) -> dict:
    """Ask with `story`, talk over the answer with `stop` one second in; time the silence."""
    last = _last_turn(client)
    start = await _say(client, story)
    asked = start + _speech_end(story)
    deadline = time.monotonic() + REPLY_TIMEOUT_S + len(story) / RTC_RATE
    # Talk over it one second in, while it is audible (not in a pause between sentences).
    while (first := client.first_audible(asked)) is None or time.monotonic() < first + 1.0 or not client.audible_now():
        if time.monotonic() > deadline or _last_turn(client) > last:
            return {"stop": None, "outcome": "too short to talk over", "reply": _reply_text(client, asked)}
        await asyncio.sleep(0.01)
    onset = await _say(client, stop) + speech_regions(stop, RTC_RATE)[0][0]
    interrupted = await _next_turn_metrics(client, last, 30)
    await asyncio.sleep(max(0.0, onset + STOP_WINDOW_S - time.monotonic()))
    stopped = client.last_audible(onset, onset + STOP_WINDOW_S)  # the answer to "wait, stop" comes later
    await _next_turn_metrics(client, interrupted["turn"], REPLY_TIMEOUT_S)
    await asyncio.sleep(SETTLE_S)
    timed = interrupted["outcome"] == "interrupted"
    return {"stop": stopped - onset if timed else None, "outcome": interrupted["outcome"],
            "reply": _reply_text(client, asked)}


def _p50_p95(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None}
    stats = percentiles(values)
    return {"p50": round(stats["p50"], 3), "p95": round(stats["p95"], 3)}


def _summary(turns: list[dict], trials: list[dict], watch: MachineWatch) -> dict:
    metrics = [t["metrics"] for t in turns]
    return {
        "e2e_latency_s": _p50_p95([t["e2e"] for t in turns if t["e2e"] is not None]),
        "barge_in_stop_s": _p50_p95([t["stop"] for t in trials if t["stop"] is not None]),
        "stages_s": {name: _p50_p95([m[name] for m in metrics if m.get(name) is not None]) for name in STAGES},
        "cut_off_rate": round(sum(t["cut_off"] for t in turns) / len(turns), 3) if turns else None,
        "replies": [{"text": t["text"], "audio_s": t["audio_s"], "asked": t["heard"], "cut_off": t["cut_off"],
                     "e2e_s": round(t["e2e"], 3) if t["e2e"] is not None else None} for t in turns],
        "barge_ins": [{"outcome": t["outcome"], "stop_s": round(t["stop"], 3) if t["stop"] is not None else None,
                       "reply": t.get("reply", "")} for t in trials],
        "counts": {"turns": len(turns), "replied": sum(t["e2e"] is not None for t in turns),
                   "cut_off": sum(t["cut_off"] for t in turns),
                   "barge_in_attempts": len(trials),
                   "barge_ins_timed": sum(t["stop"] is not None for t in trials)},
        "machine": watch.describe(),
    }
