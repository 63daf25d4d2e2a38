"""When a live stream ends a turn, in virtual time: scripted speech in, EndOfTurn out (pipecat-style).

The stream, its segmenter, caption policy and turn taking run for real; the models are
scripted (test_caption_finals.py: words as audio levels, a VAD that hears any level) and run
on a virtual device: one worker, the most urgent queued job first, each job taking a fixed
number of seconds of the stream's audio clock. The clock is the audio fed so far, so every
run is the same on a loaded machine as on an idle one.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

import numpy as np

from inference_server.protocol import SAMPLE_RATE, EndOfTurn, Final, Preflight, StreamConfig
from inference_server.scheduler import Priority
from inference_server.streaming import TranscriptionStream
from parley.settings import Settings

from .test_caption_finals import Word, WordRecognizer, render

CHUNK_S = 0.02
DECODE_S = 0.25  # a Whisper tiny.en decode of a short question on the 2-core CPU
TURN_MODEL_S = 0.06
SPEAKER_S = 0.2  # a speaker embedding of the caption (diarization)
PAUSE_S = 0.15 + 0.1  # silence before the pause's decode starts: the sentence pause, VAD frame and chunk edges


@dataclass(order=True)
class _Job:
    priority: int
    seq: int
    cost: float = field(compare=False)
    result: object = field(compare=False)
    future: asyncio.Future = field(compare=False)
    kind: str = field(compare=False, default="")


class VirtualDevice(WordRecognizer):
    """The engine on one device worker whose jobs take seconds of stream audio."""

    def __init__(self, words: list[Word], *, decode_s: float, probability: float) -> None:
        super().__init__(words)
        self.models.turn = type("Turn", (), {"window_s": 8.0})()
        self.now = 0.0
        self._decode_s = decode_s
        self._probability = probability
        self._queue: list[_Job] = []
        self._seq = itertools.count()
        self._running: tuple[float, _Job] | None = None  # (done at, job)
        self._free_at = 0.0
        self.ran: list[tuple[str, Priority]] = []  # (kind, priority) of each job run to the end for a caller

    async def recognize(self, audio: np.ndarray, *, priority: Priority = Priority.LIVE, **_) -> str:
        text = await super().recognize(audio)
        return await self._run(priority, self._decode_s, text)

    async def speaker_embedding(self, audio: np.ndarray, *, priority: Priority = Priority.ANALYSIS, **_):
        return await self._run(priority, SPEAKER_S, None, "speaker")

    async def emotion(self, text: str, *, priority: Priority = Priority.ANALYSIS, **_):
        return await self._run(priority, TURN_MODEL_S, ("neutral", 1.0), "emotion")

    async def end_of_turn(self, audio: np.ndarray) -> float:
        return await self._run(Priority.REPLY, TURN_MODEL_S, self._probability)

    async def _run(self, priority: Priority, cost: float, result, kind: str = ""):
        job = _Job(priority, next(self._seq), cost, result, asyncio.get_running_loop().create_future(), kind)
        self._queue.append(job)
        if self._running is None:
            self._free_at = max(self._free_at, self.now)  # an idle device starts it now
        self.advance(self.now)
        return await job.future

    def advance(self, now: float) -> None:
        """Run the device up to `now`: finish what is due, start the most urgent waiting job."""
        self.now = now
        while True:
            if self._running is not None:
                done_at, job = self._running
                if done_at > now:
                    return
                self._running, self._free_at = None, done_at
                if not job.future.done():  # its caller went away meanwhile: the result is dropped
                    job.future.set_result(job.result)
                    self.ran.append((job.kind, Priority(job.priority)))
            self._queue = [job for job in self._queue if not job.future.done()]  # cancelled while queued
            if not self._queue:
                return
            job = min(self._queue)
            self._queue.remove(job)
            self._running = (self._free_at + job.cost, job)


async def _settle() -> None:
    for _ in range(30):
        await asyncio.sleep(0)


async def run(words: list[Word], *, decode_s: float = DECODE_S, probability: float = 0.1, tail: float = 3.0,
              interim: bool = True, analysis: bool = False,
              device: VirtualDevice | None = None) -> tuple[list[tuple[float, object]], list[float]]:
    """Stream `words`; returns ((stream seconds when emitted, event) for each event, ends of words in seconds)."""
    device = device or VirtualDevice(words, decode_s=decode_s, probability=probability)
    events: list[tuple[float, object]] = []

    async def emit(event) -> None:
        events.append((device.now, event))

    stream = TranscriptionStream(device, Settings(_env_file=None),
                                 StreamConfig(emotion=analysis, diarization=analysis, interim=interim), emit)
    audio = render(words, tail=tail)
    pcm = (audio * 32767).astype("<i2").tobytes()
    chunk = int(CHUNK_S * SAMPLE_RATE) * 2
    for offset in range(0, len(pcm), chunk):
        await stream.feed(pcm[offset:offset + chunk])
        await _settle()
        device.advance((offset + chunk) / 2 / SAMPLE_RATE)
        await _settle()
    await stream.close()
    ends, at = [], 0.3  # render()'s lead
    for word in words:
        at += word.seconds
        ends.append(at)
        at += word.pause
    return events, ends


def turn_ends(events) -> list[tuple[float, EndOfTurn]]:
    return [(at, e) for at, e in events if isinstance(e, EndOfTurn)]


def spoken(text: str, pause_after: float = 3.0, word_s: float = 0.3) -> list[Word]:
    words = [Word(w, word_s) for w in text.split()]
    words[-1].pause = pause_after
    return words


async def test_a_question_ends_its_turn_once_its_words_are_decoded_not_behind_interims():
    events, ends = await run(spoken("Is it raining today?"))  # speech ends just after an interim is due

    [(at, end)] = turn_ends(events)
    assert end.reason == "question"
    assert at - ends[-1] <= PAUSE_S + DECODE_S  # one decode: no interim ahead of it
    [(_, preflight)] = [(t, e) for t, e in events if isinstance(e, Preflight)]
    assert preflight.text == "Is it raining today?"


async def test_a_pause_after_a_trailing_word_waits_for_the_rest_of_the_question():
    words = spoken("How many minutes are there in", pause_after=0.8) + spoken("one hour?")
    events, ends = await run(words)

    [(at, end)] = turn_ends(events)  # none in the pause after "in"
    assert end.end > ends[5] + 0.8 and end.reason == "question"
    assert at - ends[-1] <= PAUSE_S + DECODE_S


async def test_a_short_unfinished_turn_is_judged_on_its_own_words_not_the_last_turns():
    events, ends = await run(spoken("Is it raining today?") + spoken("And then", word_s=0.25))

    (_, question), (at, unfinished) = turn_ends(events)
    assert question.reason == "question"
    assert unfinished.reason == "max_delay" and at - ends[-1] >= 2.5  # "and": the speaker is not done


async def test_a_pause_while_an_older_pause_is_still_decoded_is_judged_on_all_the_words():
    # "capital", a short pause (decoded speculatively), then the end of the question before that decode is
    # done: the turn's words are the whole question, not the older decode's "What is the capital".
    words = spoken("What is the capital", pause_after=0.25) + spoken("of France?", word_s=0.25)
    events, ends = await run(words, decode_s=1.0, interim=False)

    [(at, end)] = turn_ends(events)
    assert end.reason == "question"
    assert at - ends[-1] <= PAUSE_S + 2 * 1.0  # the older decode runs out, then this pause's
    assert [e.text for _, e in events if isinstance(e, Preflight)] == ["What is the capital of France?"]


async def test_words_that_do_not_decide_leave_it_to_the_turn_model_not_queued_behind_the_analysis():
    events, ends = await run(spoken("Thanks that's all"), probability=0.9, analysis=True, interim=False)

    [(at, end)] = turn_ends(events)
    assert end.reason == "model" and end.probability == 0.9
    assert at - ends[-1] <= PAUSE_S + DECODE_S + TURN_MODEL_S


async def test_a_final_committed_before_its_speculative_analysis_is_done_gets_it_at_a_finals_priority():
    """A pause's speaker and emotion are computed beside its decode, ranked below the turn's decision and the
    reply. Committed before that is done (here at the turn's end, its decode still running), the final gets
    its analysis again as a final's, and the speculative jobs are dropped unrun."""
    words = spoken("Is it raining today?")
    device = VirtualDevice(words, decode_s=DECODE_S, probability=0.1)
    events, ends = await run(words, analysis=True, interim=False, device=device)

    [final] = [e for _, e in events if isinstance(e, Final) and e.text]
    assert final.text == "Is it raining today?"
    analysis = [(kind, priority) for kind, priority in device.ran if kind and priority != Priority.REPLY]  # not windows
    assert analysis == [("speaker", Priority.LIVE), ("emotion", Priority.LIVE)]
