"""One spoken reply: the LLM's text streamed into TTS sentence by sentence, played as it comes.

Three tasks run side by side: generation (tokens -> sentences), speech (each sentence -> TTS
-> the audio output, in order) and a follower that reports each sentence as its audio starts
playing (captions). A reply may start before the turn is judged over — preemptive
generation: its audio waits for `confirm()`. `pause()` silences it while a human may be
barging in; `interrupt()` stops it and says which words the room actually heard, from the
samples played.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Literal

from inference_server.client import InferenceError

from ..ports import Inference

from .audio_output import AudioOutput
from .events import now
from .sentences import SentenceSplitter, speakable, without_label

log = logging.getLogger(__name__)

Failure = Literal["llm", "llm_partial", "tts", "empty"]
Progress = Callable[[str], Awaitable[None]]  # the words heard so far, each time a sentence starts


@dataclass(frozen=True)
class ReplyOptions:
    max_tokens: int = 120  # an absurdly long answer is cut here ...
    max_sentences: int = 4  # ... or here, whichever comes first
    temperature: float = 0.5
    first_token_timeout_s: float = 30.0  # a cold prompt on a busy CPU is slow, not dead
    token_timeout_s: float = 10.0
    tts_timeout_s: float = 10.0


@dataclass
class _Sentence:
    text: str
    start: int  # sample positions in the reply's audio
    end: int | None = None  # None while its audio is still arriving


@dataclass
class ReplyResult:
    text: str  # what the room got: heard words, plus any text shown because speech failed
    interrupted: bool = False
    failure: Failure | None = None
    ttft: float | None = None
    ttfb: float | None = None
    audio_s: float = 0.0
    first_audio_at: float | None = None  # when (`now()`) its first sample left for the room


@dataclass
class SpokenReply:
    client: Inference
    output: AudioOutput
    messages: list[dict[str, str]]
    options: ReplyOptions = field(default_factory=ReplyOptions)
    on_progress: Progress | None = None
    stop: list[str] = field(default_factory=list)  # e.g. "\nAnn:": the model must not speak for people
    name: str = "Parley"

    def __post_init__(self) -> None:
        self._confirmed = asyncio.Event()
        self._sentences: list[_Sentence] = []
        self._sentence_added = asyncio.Event()
        self._unspoken: list[str] = []  # text whose speech failed: shown instead
        self._tasks: list[asyncio.Task] = []
        self._interrupted_text: str | None = None
        self._generated_any = False
        self._llm_failed = False
        self.ttft: float | None = None
        self.ttfb: float | None = None

    # --- control (the engine) -------------------------------------------------------------------

    def confirm(self) -> None:
        """The turn is over: audio may play."""
        self._confirmed.set()

    @property
    def confirmed(self) -> bool:
        return self._confirmed.is_set()

    def pause(self) -> None:
        """Silence now, keeping the audio made so far. Generation stops for good: on a CPU it would
        starve the transcription that decides whether this was an interruption; if it was not,
        the reply resumes with the sentences it already has."""
        self.output.pause()
        if self._tasks:
            self._tasks[0].cancel()

    def resume(self) -> None:
        self.output.resume()

    def interrupt(self) -> str:
        """Stop now: silence, no more generation or speech. Returns the words the room heard."""
        if self._interrupted_text is None:
            self._interrupted_text = self.heard(self.output.stop())
            for task in self._tasks:
                task.cancel()
        return self._interrupted_text

    def heard(self, played: int) -> str:
        """The words within the first `played` samples, a cut sentence pro rata by its words."""
        parts: list[str] = []
        for sentence in self._sentences:
            end = sentence.end if sentence.end is not None else self.output.queued_samples
            if played >= end:
                parts.append(sentence.text)
                continue
            if played > sentence.start:
                words = sentence.text.split()
                parts.extend(words[:int(len(words) * (played - sentence.start) / max(1, end - sentence.start))])
            break
        return " ".join(parts)

    # --- the pipeline -----------------------------------------------------------------------------

    async def run(self) -> ReplyResult:
        if self._interrupted_text is not None:  # dropped before it began
            return self.result()
        self.output.start_reply()
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._tasks = [asyncio.create_task(self._generate(queue), name="reply-llm"),
                       asyncio.create_task(self._speak(queue), name="reply-tts"),
                       asyncio.create_task(self._follow(), name="reply-captions")]
        generate, speak, follow = self._tasks
        try:
            await asyncio.gather(generate, speak, return_exceptions=True)
            if self._interrupted_text is None:
                await self.output.drain()
        finally:
            follow.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        return self.result()

    def result(self) -> ReplyResult:
        """What the reply came to, so far; final once `run` returned or it was interrupted."""
        audio_s = self.output.played_samples / self.output.sample_rate
        result = ReplyResult(text="", ttft=self.ttft, ttfb=self.ttfb, audio_s=round(audio_s, 3),
                             first_audio_at=self.output.first_audio_at)
        if self._interrupted_text is not None:
            result.text, result.interrupted = self._interrupted_text, True
            return result
        spoken = [s.text for s in self._sentences if s.end is not None and s.end > s.start]
        result.text = " ".join(spoken + self._unspoken)
        if self._llm_failed:
            result.failure = "llm_partial" if self._generated_any else "llm"
        elif self._unspoken:
            result.failure = "tts"
        elif not result.text:
            result.failure = "empty"
        return result

    async def _generate(self, queue: asyncio.Queue[str | None]) -> None:
        splitter = SentenceSplitter()
        sentences = 0
        loop = asyncio.get_running_loop()
        requested = now()
        log.debug("reply requested: %d messages, the last %r", len(self.messages), self.messages[-1]["content"][-120:])
        stream = self.client.chat_stream(self.messages, max_tokens=self.options.max_tokens,
                                         temperature=self.options.temperature, stop=self.stop or None)
        try:
            async with asyncio.timeout(self.options.first_token_timeout_s) as deadline, aclosing(stream):
                async for token in stream:
                    if self.ttft is None:
                        self.ttft = now() - requested
                        log.debug("first token after %.3f s", self.ttft)
                    deadline.reschedule(loop.time() + self.options.token_timeout_s)
                    for sentence in splitter.push(token):
                        sentences += self._queue_sentence(queue, sentence, sentences)
                    if sentences >= self.options.max_sentences:
                        return
            for sentence in splitter.flush():
                sentences += self._queue_sentence(queue, sentence, sentences)
        except (InferenceError, TimeoutError) as exc:
            log.warning("reply generation failed: %s", exc or "no token in time")
            self._llm_failed = True
        finally:
            queue.put_nowait(None)

    def _queue_sentence(self, queue: asyncio.Queue[str | None], sentence: str, index: int) -> int:
        text = without_label(speakable(sentence), self.name) if index == 0 else speakable(sentence)
        if not any(c.isalnum() for c in text) or index >= self.options.max_sentences:
            return 0  # nothing to say ("!" split off a "!!"), or one sentence too many
        self._generated_any = True
        queue.put_nowait(text)
        return 1

    async def _speak(self, queue: asyncio.Queue[str | None]) -> None:
        while (text := await queue.get()) is not None:
            if self._unspoken:  # speech already failed: show the rest as text
                self._unspoken.append(text)
                continue
            sentence = _Sentence(text, self.output.queued_samples)
            self._sentences.append(sentence)
            self._sentence_added.set()
            try:
                await self._synthesize(sentence)
            except (InferenceError, TimeoutError) as exc:
                log.warning("speech synthesis failed: %s", exc or "timed out")
                self._sentences.remove(sentence)
                self._unspoken.append(text)
            sentence.end = self.output.queued_samples

    async def _synthesize(self, sentence: _Sentence) -> None:
        requested = now()
        audio = self.client.speech(sentence.text, response_format="pcm")
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.options.tts_timeout_s) as deadline, aclosing(audio):
            async for chunk in audio:
                if self.ttfb is None:
                    self.ttfb = now() - requested
                    log.debug("first audio of %r after %.3f s", sentence.text, self.ttfb)
                if not self._confirmed.is_set():
                    deadline.reschedule(None)  # waiting for the turn to end is not the TTS being slow
                    await self._confirmed.wait()
                deadline.reschedule(loop.time() + self.options.tts_timeout_s)
                await self.output.push(chunk)

    async def _follow(self) -> None:
        """Report the words heard so far each time a sentence's first sample plays."""
        index = 0
        while True:
            while index >= len(self._sentences):
                self._sentence_added.clear()
                await self._sentence_added.wait()
            if not await self.output.wait_played(self._sentences[index].start + 1):
                return
            index += 1
            if self.on_progress is not None:
                await self.on_progress(" ".join(s.text for s in self._sentences[:index]))
