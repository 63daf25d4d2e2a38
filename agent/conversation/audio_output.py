"""The assistant's voice in a room: the one audio seam between the engine and a transport.

The engine pushes 16-bit mono PCM at `sample_rate` (the TTS's 24 kHz) for one reply at a
time, and needs to know what the room has actually heard: a barge-in keeps only the words
played. So an output reports the samples that have left it (`_report_played`); the base
class turns that into `played_samples`, `first_audio_at` and `wait_played`. Transports
implement the `_impl` hooks. `PacedAudioOutput` owns the queue, pause, stop and played count
of both transports' frame sinks (embedded: mixed into every peer's track; LiveKit: an
`rtc.AudioSource`), and keeps real time for a sink that does not.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable

import numpy as np

from inference_server.protocol import TTS_SAMPLE_RATE

from .events import now


class AudioOutput(ABC):
    sample_rate = TTS_SAMPLE_RATE

    def __init__(self) -> None:
        self._queued = 0  # samples pushed in the current reply
        self._played = 0
        self._carry = b""  # an odd byte split off by the network
        self._stopped = False
        self._waiters: list[tuple[int, asyncio.Future[bool]]] = []
        self.first_audio_at: float | None = None  # when (`now()`) the reply's first sample left

    # --- the engine's side ---------------------------------------------------------------------

    def start_reply(self) -> None:
        """Count from zero for a new reply (after the previous one stopped or drained)."""
        self._queued = self._played = 0
        self._carry = b""
        self._stopped = False
        self.first_audio_at = None

    async def push(self, pcm: bytes) -> None:
        """Queue audio after what is queued; it may wait while the output is far ahead (backpressure)."""
        if self._stopped:
            return
        pcm, self._carry = (self._carry + pcm), b""
        if len(pcm) % 2:
            pcm, self._carry = pcm[:-1], pcm[-1:]
        if pcm:
            self._queued += len(pcm) // 2
            await self._push_impl(np.frombuffer(pcm, "<i2").astype(np.int16))

    def pause(self) -> None:
        """Silence now, keeping what is queued (a possible barge-in)."""
        self._pause_impl(True)

    def resume(self) -> None:
        self._pause_impl(False)

    def stop(self) -> int:
        """Silence now and drop everything not yet played; returns the samples the room heard."""
        self._stopped = True
        self._stop_impl()
        self._wake(final=True)
        return self._played

    @property
    def played_samples(self) -> int:
        return self._played

    @property
    def queued_samples(self) -> int:
        return self._queued

    async def wait_played(self, position: int) -> bool:
        """Until `position` samples of this reply have played: True, or False if it stopped first."""
        if self._played >= position:
            return True
        if self._stopped:
            return False
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiters.append((position, future))
        return await future

    async def drain(self) -> bool:
        """Until everything pushed has played (True), or the output was stopped (False)."""
        return await self.wait_played(self._queued)

    # --- the transport's side ------------------------------------------------------------------

    def _report_played(self, samples: int) -> None:
        """Implementations call this as audio leaves them for the room."""
        if samples <= 0:
            return
        if self.first_audio_at is None:
            self.first_audio_at = now()
        self._played += samples
        self._wake(final=False)

    def _wake(self, *, final: bool) -> None:
        pending = []
        for position, future in self._waiters:
            if future.done():
                continue
            if self._played >= position:
                future.set_result(True)
            elif final:
                future.set_result(False)
            else:
                pending.append((position, future))
        self._waiters = pending

    @abstractmethod
    async def _push_impl(self, samples: np.ndarray) -> None: ...

    @abstractmethod
    def _pause_impl(self, paused: bool) -> None: ...

    @abstractmethod
    def _stop_impl(self) -> None: ...

    async def aclose(self) -> None:
        self.stop()


class PacedAudioOutput(AudioOutput):
    """Plays queued audio in real time, one frame every `frame_ms`, into `_emit_impl`.

    The frame clock restarts whenever the queue runs dry, so a reply starts at once. A sink
    that takes a frame only once it has room for it keeps real time itself (see `_emit_impl`).
    A stop or pause takes effect before the next frame (at most `frame_ms` later) — what the sink
    buffers beyond that is the sink's to drop in `_clear_sink_impl`.
    """

    frame_ms = 20

    def __init__(self) -> None:
        super().__init__()
        self._frame = self.sample_rate * self.frame_ms // 1000
        self._buffer = np.zeros(0, np.int16)
        self._paused = False
        self._ready = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def _push_impl(self, samples: np.ndarray) -> None:
        self._buffer = np.concatenate([self._buffer, samples])
        self._ready.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._play(), name="assistant-audio")

    def _pause_impl(self, paused: bool) -> None:
        self._paused = paused
        if paused:
            self._clear_sink_impl()
        else:
            self._ready.set()

    def _stop_impl(self) -> None:
        self._buffer = np.zeros(0, np.int16)
        self._paused = False
        self._clear_sink_impl()

    async def _play(self) -> None:
        start: float | None = None
        frames = 0
        while True:
            if self._paused or not len(self._buffer):
                start = None
                self._ready.clear()
                await self._ready.wait()
                continue
            if start is None:
                start, frames = now(), 0
            frame, self._buffer = self._buffer[:self._frame], self._buffer[self._frame:]
            taken = self._emit_impl(frame if len(frame) == self._frame
                                    else np.concatenate([frame, np.zeros(self._frame - len(frame), np.int16)]))
            if taken is not None:  # the sink waits for room, so it keeps the time
                await taken
                if not self._stopped:  # stopped while it waited: the room never hears this frame
                    self._report_played(len(frame))
                continue
            self._report_played(len(frame))
            frames += 1
            delay = start + frames * self.frame_ms / 1000 - now()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.1:  # the loop stalled: carry on from now rather than burst
                start, frames = now(), 0

    @abstractmethod
    def _emit_impl(self, frame: np.ndarray) -> Awaitable[None] | None:
        """One frame (int16, `frame_ms` long) leaves for the room. A sink that takes a frame only
        once it has room for it (LiveKit's `capture_frame`) returns that wait instead of None."""

    def _clear_sink_impl(self) -> None:
        """Drop audio the sink holds that has not reached anyone yet (nothing by default)."""

    async def aclose(self) -> None:
        self.stop()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
