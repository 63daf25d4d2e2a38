"""One live transcription stream: audio in, speech/interim/final events out.

VAD runs inline (well under a millisecond per 32 ms frame); every decode goes through the
scheduler. Interims re-decode the growing utterance at most every `interim_interval_ms`, and
never while the stream's previous interim is still being decoded, so a loaded server sends
fewer interims instead of falling behind. The final decode starts speculatively as soon as a
pause begins, overlapping the silence the VAD must wait out; if speech resumes it is dropped.
Finals are sent strictly in utterance order.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from parley.settings import Settings

from .diarization import OnlineDiarizer
from .engine import Engine
from .protocol import (SAMPLE_RATE, Final, Interim, Preflight, Ready, SpeechEnded, SpeechStarted, StreamConfig,
                       StreamEvent)
from .scheduler import Priority
from .segmenter import Segmenter, SpeechEnd, SpeechStart
from .turn_stream import StreamTurns

log = logging.getLogger(__name__)

Emit = Callable[[StreamEvent], Awaitable[None]]


class StreamTooLong(Exception):
    pass


@dataclass
class _Analysis:
    text: str
    embedding: np.ndarray | None
    emotion: tuple[str, float]


@dataclass
class _Speculation:
    start: int
    end: int
    task: asyncio.Task


class TranscriptionStream:
    def __init__(self, engine: Engine, settings: Settings, config: StreamConfig, emit: Emit) -> None:
        self.id = uuid.uuid4().hex[:12]
        self._engine = engine
        self._config = config
        self._emit = emit
        self._segmenter = Segmenter(engine.models.vad, threshold=settings.vad_threshold,
                                    min_silence_ms=settings.min_silence_ms,
                                    max_utterance_s=settings.max_utterance_s)
        self._diarizer = OnlineDiarizer(threshold=settings.speaker_threshold)
        self._interim_every = int(settings.interim_interval_ms * SAMPLE_RATE / 1000)
        self._max_samples = int(settings.max_stream_seconds * SAMPLE_RATE)
        self._metrics = engine.scheduler.metrics
        self._received = 0
        self._utterance = 0
        self._next_interim_at = 0
        self._interim_task: asyncio.Task | None = None
        self._speculation: _Speculation | None = None
        self._finals: asyncio.Queue[tuple[int, SpeechEnd, asyncio.Task, float] | None] = asyncio.Queue()
        self._final_worker = asyncio.create_task(self._send_finals_in_order())
        self._analysis: tuple[int, int, int, asyncio.Task] | None = None  # latest decode: the turn's words
        self._turns = StreamTurns(engine, settings, self._segmenter, emit, self._latest_words,
                                  stream_id=self.id) if config.turns else None

    async def start(self) -> None:
        await self._emit(Ready(stream_id=self.id))

    # --- input ------------------------------------------------------------------------------

    async def feed(self, pcm: bytes) -> None:
        if len(pcm) % 2:
            raise ValueError("PCM16 frames must have an even number of bytes")
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        self._received += len(samples)
        if self._received > self._max_samples:
            raise StreamTooLong(f"stream longer than the configured maximum of {self._max_samples // SAMPLE_RATE} s")
        if self._turns:
            self._turns.audio(samples)
        for event in self._segmenter.push(samples):
            await self._on_segment(event)
        self._speculate()
        self._maybe_interim()
        if self._turns:
            await self._turns.update(self._utterance)

    async def flush(self) -> None:
        for event in self._segmenter.flush():
            await self._on_segment(event)
        if self._turns:
            await self._turns.flush(self._utterance)

    async def finish(self) -> None:
        """Finalize what is pending and wait until every final has been sent."""
        await self.flush()
        self._finals.put_nowait(None)
        await self._final_worker

    async def close(self) -> None:
        """The client went away: drop pending work."""
        for task in (self._interim_task, self._final_worker,
                     self._speculation.task if self._speculation else None):
            if task and not task.done():
                task.cancel()
        if self._turns:
            self._turns.close()

    # --- segmentation events ----------------------------------------------------------------

    async def _on_segment(self, event: SpeechStart | SpeechEnd) -> None:
        if isinstance(event, SpeechStart):
            self._utterance += 1
            self._next_interim_at = event.start + self._interim_every
            await self._emit(SpeechStarted(utterance_id=self._utterance, start=event.start / SAMPLE_RATE))
            return
        await self._emit(SpeechEnded(utterance_id=self._utterance, end=event.end / SAMPLE_RATE))
        if self._interim_task and not self._interim_task.done():
            self._interim_task.cancel()  # the final supersedes it
        speculation, self._speculation = self._speculation, None
        if speculation and (speculation.start, speculation.end) != (event.start, event.end):
            speculation.task.cancel()
            speculation = None
        if len(event.audio):
            task = speculation.task if speculation else asyncio.create_task(self._analyse(event.audio))
            self._analysis = (self._utterance, event.start, event.end, task)
            self._finals.put_nowait((self._utterance, event, task, time.monotonic()))
        elif speculation:
            speculation.task.cancel()

    def _speculate(self) -> None:
        segmenter = self._segmenter
        end = segmenter.settled_end()
        current = self._speculation
        if current and end != current.end:
            current.task.cancel()  # speech resumed: the pause was mid-sentence
            self._speculation = current = None
        if end is None or current is not None:
            return
        start = segmenter.utterance_start
        audio = segmenter.utterance_audio()[: end - start]
        self._speculation = _Speculation(start, end, asyncio.create_task(self._analyse(audio)))
        self._analysis = (self._utterance, start, end, self._speculation.task)

    async def _latest_words(self) -> Preflight | None:
        """The latest utterance's words once decoded (speculatively, during the pause); None if none."""
        while True:
            if self._analysis is None:
                return None
            utterance, start, end, task = self._analysis
            await asyncio.wait({task})
            if self._analysis is not None and self._analysis[3] is not task:
                continue  # superseded while decoding (the utterance's own final decode replaced it)
            if task.cancelled() or task.exception() is not None or task.result() is None:
                return None
            break
        return Preflight(utterance_id=utterance, text=task.result().text, start=start / SAMPLE_RATE,
                         end=end / SAMPLE_RATE)

    def _maybe_interim(self) -> None:
        segmenter = self._segmenter
        if not (self._config.interim and segmenter.speaking) or segmenter.settled_end() is not None:
            return  # nobody speaks, or a pause: the speculative final is on its way
        if segmenter.position < self._next_interim_at:
            return
        if self._interim_task and not self._interim_task.done():
            return
        self._next_interim_at = segmenter.position + self._interim_every
        audio = segmenter.utterance_audio()
        self._interim_task = asyncio.create_task(self._interim(self._utterance, audio, segmenter.utterance_start))

    async def _interim(self, utterance: int, audio: np.ndarray, start: int) -> None:
        try:
            text = await self._engine.recognize(audio, priority=Priority.INTERIM, beam_size=1)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - an interim is best effort; the final will follow
            log.exception("interim decode failed on stream %s", self.id)
            return
        if utterance != self._utterance or not text or not self._segmenter.speaking:
            return  # a newer utterance or the final overtook it
        end = start + len(audio)
        self._metrics.interim_lag.observe(max(0.0, (self._received - end) / SAMPLE_RATE))
        await self._emit(Interim(utterance_id=utterance, text=text, start=start / SAMPLE_RATE,
                                 end=end / SAMPLE_RATE))

    # --- finals -------------------------------------------------------------------------------

    async def _analyse(self, audio: np.ndarray) -> _Analysis | None:
        engine = self._engine
        speaker = (asyncio.create_task(engine.speaker_embedding(audio, priority=Priority.LIVE))
                   if self._config.diarization else None)
        try:
            text = await engine.recognize(audio, priority=Priority.LIVE)
            if not text:
                return None
            emotion = await engine.emotion(text, priority=Priority.LIVE) if self._config.emotion else ("neutral", 1.0)
            return _Analysis(text, await speaker if speaker else None, emotion)
        finally:
            if speaker and not speaker.done():
                speaker.cancel()

    async def _send_finals_in_order(self) -> None:
        while (item := await self._finals.get()) is not None:
            utterance, segment, task, ended_at = item
            try:
                analysis = await task
            except asyncio.CancelledError:
                if asyncio.current_task().cancelling():
                    raise
                continue
            except Exception:  # noqa: BLE001 - one bad utterance must not end the stream
                log.exception("final decode failed on stream %s", self.id)
                continue
            if analysis is None:
                continue
            duration = (segment.end - segment.start) / SAMPLE_RATE
            speaker = self._diarizer.assign(analysis.embedding, duration) if self._config.diarization else "S1"
            self._metrics.final_latency.observe(time.monotonic() - ended_at)
            await self._emit(Final(utterance_id=utterance, text=analysis.text, start=segment.start / SAMPLE_RATE,
                                   end=segment.end / SAMPLE_RATE, speaker=speaker, emotion=analysis.emotion[0],
                                   emotion_score=round(float(analysis.emotion[1]), 4)))
