"""Audio I/O for a livekit-agents `AgentSession` without a room: microphones fed from audio
played in real time, and an output that records what the assistant said.

`LiveAudioInput` yields one 20 ms frame per microphone per tick, in real time, with silence
when nothing plays (so the ASR's end-of-speech detection sees the pause); each frame names
its participant in `frame.userdata[PARTICIPANT_KEY]`, which `ParticipantRoutingSTT` reads.
`RecordingAudioOutput` plays on a virtual real-time clock, can pause, and keeps every
reply's audio and how much of it was heard before an interruption.
"""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass, field

import numpy as np
from livekit import rtc
from livekit.agents.voice.io import AudioInput, AudioOutput, AudioOutputCapabilities

PARTICIPANT_KEY = "parley.participant"
FRAME_MS = 20


class Microphone:
    """One participant's microphone: audio queued with `play`, silence otherwise."""

    def __init__(self, name: str, sample_rate: int) -> None:
        self.name = name
        self.sample_rate = sample_rate
        self._pending = np.zeros(0, np.int16)

    def play(self, samples: np.ndarray) -> float:
        """Queue int16 (or float in [-1, 1]) mono audio at `sample_rate`; returns when it ends, in s from now."""
        if samples.dtype != np.int16:
            samples = np.clip(np.round(samples * 32768.0), -32768, 32767).astype(np.int16)
        self._pending = np.concatenate([self._pending, samples])
        return len(self._pending) / self.sample_rate

    @property
    def playing(self) -> bool:
        return len(self._pending) > 0

    def _take(self, count: int) -> np.ndarray:
        chunk, self._pending = self._pending[:count], self._pending[count:]
        return chunk if len(chunk) == count else np.concatenate([chunk, np.zeros(count - len(chunk), np.int16)])


class LiveAudioInput(AudioInput):
    def __init__(self, *, sample_rate: int = 16000, label: str = "parley-live-input") -> None:
        super().__init__(label=label)
        self.sample_rate = sample_rate
        self._microphones: dict[str, Microphone] = {}
        self._ready: collections.deque[rtc.AudioFrame] = collections.deque()
        self._clock: tuple[float, int] | None = None  # (start, ticks so far)
        self._samples = sample_rate * FRAME_MS // 1000

    def microphone(self, name: str) -> Microphone:
        if name not in self._microphones:
            self._microphones[name] = Microphone(name, self.sample_rate)
        return self._microphones[name]

    async def __anext__(self) -> rtc.AudioFrame:
        while not self._ready:
            await self._tick()
        return self._ready.popleft()

    async def _tick(self) -> None:
        start, ticks = self._clock or (time.monotonic(), 0)
        delay = start + ticks * FRAME_MS / 1000 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.2:  # the loop stalled: carry on from now rather than burst
            start, ticks = time.monotonic(), 0
        self._clock = (start, ticks + 1)
        for name, microphone in self._microphones.items():
            samples = microphone._take(self._samples)
            self._ready.append(rtc.AudioFrame(samples.tobytes(), self.sample_rate, 1, self._samples,
                                              userdata={PARTICIPANT_KEY: name}))


@dataclass
class PlayedReply:
    frames: list[rtc.AudioFrame] = field(default_factory=list)
    pushed_s: float = 0.0
    played_s: float = 0.0
    interrupted: bool = False

    def audio(self, *, heard_only: bool = True) -> np.ndarray:
        """The reply's samples (mono int16), cut at what was heard unless `heard_only` is False."""
        if not self.frames:
            return np.zeros(0, np.int16)
        samples = np.concatenate([np.frombuffer(f.data, np.int16) for f in self.frames])
        rate = self.frames[0].sample_rate
        return samples[: int(self.played_s * rate)] if heard_only else samples


class RecordingAudioOutput(AudioOutput):
    """Plays replies on a virtual real-time clock and records them in `replies`."""

    def __init__(self, *, sample_rate: int | None = None, label: str = "parley-recording-output") -> None:
        super().__init__(label=label, capabilities=AudioOutputCapabilities(pause=True), sample_rate=sample_rate)
        self.replies: list[PlayedReply] = []
        self._current: PlayedReply | None = None
        self._started_at: float | None = None
        self._paused_at: float | None = None
        self._paused_total = 0.0
        self._flushed = False
        self._finish: asyncio.TimerHandle | None = None
        self.silenced: list[float] = []  # when playback paused or was cut (time.time()), for barge-in timing

    def _played(self) -> float:
        if self._started_at is None:
            return 0.0
        now = self._paused_at if self._paused_at is not None else time.time()
        return now - self._started_at - self._paused_total

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self._current is None:
            self._current = PlayedReply()
            self.replies.append(self._current)
        self._current.frames.append(frame)
        self._current.pushed_s += frame.duration
        if self._started_at is None and self._paused_at is None:
            self._started_at = time.time()
            self.on_playback_started(created_at=self._started_at)

    def flush(self) -> None:
        super().flush()
        if self._current is None:
            return
        self._flushed = True
        self._schedule_finish()

    def clear_buffer(self) -> None:
        if self._current is None:
            return
        self.silenced.append(time.time())
        self._end(min(self._played(), self._current.pushed_s), interrupted=True)

    def pause(self) -> None:
        super().pause()
        self.silenced.append(time.time())
        if self._paused_at is None:
            self._paused_at = time.time()
        if self._finish is not None:
            self._finish.cancel()

    def resume(self) -> None:
        super().resume()
        if self._paused_at is not None:
            if self._started_at is not None:
                self._paused_total += time.time() - self._paused_at
            self._paused_at = None
        if self._current is not None and self._started_at is None:
            self._started_at = time.time()
            self.on_playback_started(created_at=self._started_at)
        if self._flushed:
            self._schedule_finish()

    @property
    def playing(self) -> bool:
        return self._current is not None and self._paused_at is None

    def _schedule_finish(self) -> None:
        if self._finish is not None:
            self._finish.cancel()
        if self._paused_at is None and self._current is not None:
            left = max(0.0, self._current.pushed_s - self._played())
            self._finish = asyncio.get_running_loop().call_later(left, self._end, self._current.pushed_s, False)

    def _end(self, position: float, interrupted: bool) -> None:
        reply = self._current
        if reply is None:
            return
        reply.played_s, reply.interrupted = position, interrupted
        if self._finish is not None:
            self._finish.cancel()
        self._current, self._started_at, self._paused_at = None, None, None
        self._paused_total, self._flushed, self._finish = 0.0, False, None
        self.on_playback_finished(playback_position=position, interrupted=interrupted)
