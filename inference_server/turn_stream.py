"""One live stream's turn-taking: the `TurnTracker` wired to the VAD, the turn model and the words.

The clock is the stream's audio (seconds received): a client sends audio all the time,
silence included, so a pause is measured the same on a loaded server as on an idle one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import numpy as np

from parley.settings import Settings

from .engine import Engine
from .protocol import SAMPLE_RATE, Emit, EndOfTurn, Preflight
from .segmenter import Segmenter
from .turn_taking import Judge, TurnEnded, TurnOptions, TurnTracker, Verdict, judge

log = logging.getLogger(__name__)

Words = Callable[[float], Awaitable[Preflight | None]]  # the words up to the pause that began then

_SPEECH_GAP = 2 * 512  # samples (two VAD frames) without speech before a pause counts


def turn_options(settings: Settings) -> TurnOptions:
    return TurnOptions(silence_s=settings.turn_silence_ms / 1000, max_delay_s=settings.turn_max_delay_s,
                       fallback_delay_s=settings.turn_fallback_delay_s, threshold=settings.turn_threshold)


class StreamTurns:
    def __init__(self, engine: Engine, settings: Settings, segmenter: Segmenter, emit: Emit, words: Words, *,
                 stream_id: str = "") -> None:
        self._engine = engine
        self._segmenter = segmenter
        self._emit = emit
        self._words = words
        self._id = stream_id
        self.tracker = TurnTracker(turn_options(settings))
        self._window = int(engine.models.turn.window_s * SAMPLE_RATE) if engine.models.turn else 8 * SAMPLE_RATE
        self._recent = np.zeros(0, dtype=np.float32)  # the stream's last `_window` samples
        self._received = 0
        self._turn_start = 0  # sample where the open turn's speech began
        self._judging: asyncio.Task | None = None
        self._warned = False
        if engine.models.turn is None:
            log.warning("stream %s: no end-of-turn model; turns end after %.1f s of silence", stream_id,
                        settings.turn_fallback_delay_s)

    def audio(self, samples: np.ndarray) -> None:
        self._recent = np.concatenate([self._recent, samples])[-self._window:]
        self._received += len(samples)

    async def update(self, utterance: int) -> None:
        segmenter = self._segmenter
        now = self._received / SAMPLE_RATE
        if segmenter.speaking and segmenter.position - segmenter.last_speech_end < _SPEECH_GAP:
            if not self.tracker.open:
                self._turn_start = segmenter.utterance_start
            if self._judging is not None:
                self._judging.cancel()  # the pause was mid-turn
                self._judging = None
            self.tracker.speech(now)
            return
        await self._act(self.tracker.silence(now, segmenter.last_speech_end / SAMPLE_RATE), utterance)

    async def flush(self, utterance: int) -> None:
        await self._act(self.tracker.flush(self._received / SAMPLE_RATE), utterance)

    def close(self) -> None:
        if self._judging is not None:
            self._judging.cancel()

    async def _act(self, actions: list, utterance: int) -> None:
        for action in actions:
            if isinstance(action, Judge):
                self._judging = asyncio.create_task(self._judge(action, utterance))
            elif isinstance(action, TurnEnded):
                if self._judging is not None and self._judging is not asyncio.current_task():
                    self._judging.cancel()
                self._judging = None
                await self._emit(EndOfTurn(utterance_id=utterance, end=round(action.speech_end, 3),
                                           probability=_rounded(action.probability), reason=action.reason))

    async def _judge(self, ask: Judge, utterance: int) -> None:
        """The verdict on one pause: the words decoded during it, then (unless they decide) the model.

        The model is asked at once, not after the words: queued now it runs right after the pause's
        decode (both on the reply path), while asked later it would wait behind the caption's
        speaker and emotion analysis queued meanwhile. Words that decide withdraw it (a queued
        job leaves the queue), as does speech that resumes.
        """
        audio = self._recent[-min(len(self._recent), max(1, self._received - self._turn_start)):]
        asked = asyncio.create_task(self._probability(audio))
        try:
            words = await self._words(ask.pause_start)
            text = words.text if words else ""
            if text:
                await self._emit(words)  # a reply may start on these while the verdict is out
            verdict = judge(text, None, self.tracker.options.threshold)
            if verdict.complete is None:
                probability = await asked
                self.tracker.probability(ask.pause, probability)
                verdict = judge(text, probability, self.tracker.options.threshold)
        finally:
            asked.cancel()
        await self._act(self.tracker.verdict(ask.pause, verdict, self._received / SAMPLE_RATE),
                        words.utterance_id if words else utterance)

    async def _probability(self, audio: np.ndarray) -> float | None:
        if self._engine.models.turn is None:
            return None
        try:
            # No timeout here: a model stuck in the queue is the tracker's to outwait (its max delay).
            return await self._engine.end_of_turn(audio)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a failing turn model means "decide on silence", never a hang
            if not self._warned:
                self._warned = True
                log.warning("stream %s: end-of-turn model failed (%s); this pause ends on silence", self._id,
                            exc or type(exc).__name__)
            return None


def _rounded(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None
