"""Async model operations routed through the scheduler: what routes and streams call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing

import numpy as np

from .loader import ModelSet
from .models.asr import Recognition
from .models.llm import ChatChunk
from .scheduler import MAX_BATCH, Priority, Scheduler
from .speaker_activity import STEP_S, ActivityAccumulator, SpeakerActivity, window_starts

# Whisper makes up text on non-speech; such decodes are dropped.
_NO_SPEECH_PROB = 0.6
_MIN_AVG_LOGPROB = -1.0


class Engine:
    def __init__(self, models: ModelSet, scheduler: Scheduler) -> None:
        self.models = models
        self.scheduler = scheduler
        self._llm_lock = asyncio.Lock()  # one generation at a time owns the LLM's state
        self._chats_waiting = 0  # chats waiting for the LLM: a prefill makes way for them

    @property
    def chats_waiting(self) -> int:
        return self._chats_waiting

    async def recognize(self, audio: np.ndarray, *, priority: Priority = Priority.LIVE,
                        beam_size: int | None = None, inside_speech: bool = False, draft: bool = False) -> str:
        """`draft`: an interim, decoded by the live recognizer (a finals recognizer, when loaded, decodes
        the rest). `inside_speech`: the audio was cut out of speech going on (a caption split at a
        speaker change), so an unsure decode is still kept: the no-speech drop is for what may be no speech."""
        asr = self.models.asr if draft else self.models.finals_asr
        result: Recognition = await self.scheduler.run_batched(
            audio, lambda clips: asr.recognize(clips, beam_size=beam_size), priority=priority,
            model=asr.name, batch_key=f"asr:{asr.name}:{beam_size}:{priority}",
            max_batch=MAX_BATCH if asr.capabilities.batching else 1)  # unbatched: one clip per job, none waits long
        if not inside_speech and result.no_speech_prob > _NO_SPEECH_PROB and result.avg_logprob < _MIN_AVG_LOGPROB:
            return ""
        return result.text

    async def end_of_turn(self, audio: np.ndarray) -> float:
        """P(the turn is complete) for the turn's audio so far. On the reply path: it decides when
        the assistant may speak. Raises LookupError when this server has no turn model."""
        turn = self.models.turn
        if turn is None:
            raise LookupError("no end-of-turn model loaded")
        return await self.scheduler.run_batched(audio, turn.end_of_turn, priority=Priority.REPLY, model=turn.name)

    async def speaker_embedding(self, audio: np.ndarray, *, priority: Priority = Priority.ANALYSIS) -> np.ndarray | None:
        speaker = self.models.speaker
        return await self.scheduler.run_batched(audio, speaker.embed, priority=priority, model=speaker.name)

    async def segment(self, audio: np.ndarray, *, priority: Priority = Priority.ANALYSIS) -> np.ndarray:
        """The segmentation model's activity for the newest audio of a live stream, unpadded."""
        model = self._segmentation()
        return await self.scheduler.run(lambda: model.segment(audio, pad=False), priority=priority, model=model.name)

    async def speaker_activity(self, audio: np.ndarray, *, priority: Priority = Priority.BATCH) -> SpeakerActivity:
        """Who speaks when in a whole file, from the segmentation model (one scheduler job per window,
        so live streams run between them). Raises LookupError when this server has no such model."""
        model = self._segmentation()
        accumulator = ActivityAccumulator(len(audio), model.frame_step, model.frame_size)
        for start in window_starts(len(audio), model.window, int(STEP_S * model.sample_rate)):
            window = audio[start:start + model.window]
            accumulator.add(start, await self.scheduler.run(lambda w=window: model.segment(w), priority=priority,
                                                            model=model.name))
        return accumulator.result()

    def _segmentation(self):
        if self.models.segmentation is None:
            raise LookupError("no speaker segmentation model loaded")
        return self.models.segmentation

    async def emotion(self, text: str, *, priority: Priority = Priority.ANALYSIS) -> tuple[str, float]:
        emotion = self.models.emotion
        return await self.scheduler.run_batched(text, emotion.classify, priority=priority, model=emotion.name)

    async def emotions(self, texts: Sequence[str], *, priority: Priority = Priority.ANALYSIS) -> list[tuple[str, float]]:
        return list(await asyncio.gather(*(self.emotion(t, priority=priority) for t in texts)))

    async def embed_texts(self, texts: Sequence[str], *, priority: Priority = Priority.ANALYSIS) -> np.ndarray:
        embeddings = self.models.embeddings
        return await self.scheduler.run(lambda: embeddings.embed(list(texts)), priority=priority,
                                        model=embeddings.name)

    async def chat(self, messages: Sequence[dict[str, str]], *, max_tokens: int, temperature: float,
                   top_p: float, stop: Sequence[str] = ()) -> AsyncIterator[ChatChunk]:
        llm = self.models.llm
        self._chats_waiting += 1
        try:
            await self._llm_lock.acquire()
        finally:
            self._chats_waiting -= 1
        try:
            # One token per job: each reaches the reply's TTS at once (on a busy CPU four per job
            # held the first token back ~0.3 s), and urgent live ASR can run between any two.
            async with aclosing(self.scheduler.iterate(
                    lambda: llm.chat(messages, max_tokens=max_tokens, temperature=temperature,
                                     top_p=top_p, stop=stop),
                    priority=Priority.REPLY, model=llm.name)) as chunks:
                async for chunk in chunks:
                    yield chunk
        finally:
            self._llm_lock.release()

    async def prefill(self, messages: Sequence[dict[str, str]]) -> int:
        llm = self.models.llm
        evaluated = 0
        async with self._llm_lock, aclosing(self.scheduler.iterate(
                lambda: llm.prefill_chunks(messages), priority=Priority.ANALYSIS, model=llm.name)) as chunks:
            # In chunks: a speaker's final (and any other urgent job) runs between two.
            async for evaluated in chunks:
                if self._chats_waiting:
                    # A reply waits (often for this very prompt): it evaluates the rest at its own
                    # priority, and the state is not saved now (0.3-0.5 s on 2 cores).
                    break
        return evaluated

    async def synthesize(self, text: str, *, speed: float = 1.0) -> AsyncIterator[np.ndarray]:
        tts = self.models.tts
        async for chunk in self.scheduler.iterate(lambda: tts.synthesize(text, speed=speed),
                                                  priority=Priority.REPLY, model=tts.name):
            yield chunk
