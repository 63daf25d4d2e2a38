"""A live stream's finals on their way out: each caption's words, speaker and emotion, sent in order.

streaming.py commits a caption with its decode under way. Its analysis adds the voice embedding
and the emotion (`analyse`); `FinalsInOrder` sends the finals strictly in commit order, labelled by
the online diarizer as they go out, so its speaker models see the captions in the order spoken.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import numpy as np
from prometheus_client import Histogram

from .captions import has_words
from .diarization import OnlineDiarizer
from .engine import Engine
from .protocol import SAMPLE_RATE, Emit, Final, StreamConfig
from .scheduler import Priority

log = logging.getLogger(__name__)
# One line per caption committed and per final sent, in stream seconds (PARLEY_DEBUG_LOGGERS=inference_server.captions):
# with inference_server.jobs, where a final's latency went.
caption_log = logging.getLogger("inference_server.captions")


@dataclass
class Analysis:
    text: str
    embedding: np.ndarray | None
    emotion: tuple[str, float]


@dataclass
class Caption:
    """A final on its way: committed, being analysed, sent in order."""

    utterance: int
    segment: int
    start: int
    end: int
    analysis: asyncio.Task[Analysis | None]
    last: bool
    committed_at: float


async def analyse(engine: Engine, config: StreamConfig, text_task: asyncio.Task[str], audio: np.ndarray, *,
                  speculative: bool = False) -> Analysis | None:
    """A final's words, speaker and emotion; None if the decode holds no words. A speculative analysis (a
    pause's candidate) ranks below the turn's decision and the reply, and leaves the decode to the
    candidate when it is cancelled."""
    priority = Priority.INTERIM if speculative else Priority.LIVE
    speaker = (asyncio.create_task(engine.speaker_embedding(audio, priority=priority))
               if config.diarization else None)
    try:
        text = await (asyncio.shield(text_task) if speculative else text_task)
        if not has_words(text):
            return None  # nothing, or only punctuation (a cut inside speech may decode as ".")
        emotion = await engine.emotion(text, priority=priority) if config.emotion else ("neutral", 1.0)
        return Analysis(text, await speaker if speaker else None, emotion)
    finally:
        if speaker and not speaker.done():
            speaker.cancel()
        if not speculative and not text_task.done():
            text_task.cancel()


class FinalsInOrder:
    def __init__(self, stream_id: str, config: StreamConfig, diarizer: OnlineDiarizer, emit: Emit,
                 final_latency: Histogram) -> None:
        self._stream_id = stream_id
        self._config = config
        self._diarizer = diarizer
        self._emit = emit
        self._final_latency = final_latency  # commit -> sent
        self._queue: asyncio.Queue[Caption | None] = asyncio.Queue()

    def put(self, caption: Caption) -> None:
        self._queue.put_nowait(caption)

    def end(self) -> None:
        """No more captions: `send` returns once the queued ones are out."""
        self._queue.put_nowait(None)

    async def send(self) -> None:
        while (caption := await self._queue.get()) is not None:
            try:
                analysis = await caption.analysis
            except asyncio.CancelledError:
                if asyncio.current_task().cancelling():
                    raise
                continue
            except Exception:  # noqa: BLE001 - one bad utterance must not end the stream
                log.exception("final decode failed on stream %s", self._stream_id)
                continue
            if analysis is None and caption.last and caption.segment:
                analysis = Analysis("", None, ("neutral", 1.0))  # closes the utterance: nothing after the last final
            if analysis is None:
                continue
            await self._send(caption, analysis)

    async def _send(self, caption: Caption, analysis: Analysis) -> None:
        duration = (caption.end - caption.start) / SAMPLE_RATE
        if not analysis.text:
            speaker = self._diarizer.last_label or "S1"
        elif self._config.diarization:
            speaker = self._diarizer.assign(analysis.embedding, duration)
        else:
            speaker = "S1"
        waited = time.monotonic() - caption.committed_at
        self._final_latency.observe(waited)
        caption_log.debug("stream %s final %d.%d sent %.3f s after its commit: %r", self._stream_id,
                          caption.utterance, caption.segment, waited, analysis.text)
        await self._emit(Final(utterance_id=caption.utterance, segment=caption.segment, last=caption.last,
                               text=analysis.text, start=caption.start / SAMPLE_RATE, end=caption.end / SAMPLE_RATE,
                               speaker=speaker, emotion=analysis.emotion[0],
                               emotion_score=round(float(analysis.emotion[1]), 4)))
