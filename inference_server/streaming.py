"""One live transcription stream: audio in, speech/interim/final events out.

VAD runs inline (well under a millisecond per 32 ms frame); every decode goes through the
scheduler. Interims re-decode the caption in progress at most every `interim_interval_ms`,
and never while the stream's previous interim is still being decoded, so a loaded server
sends fewer interims instead of falling behind.

Captions, utterances and turns are separate: `speech_started`/`speech_ended` follow the VAD
(a long pause ends the utterance), the end of a turn is judged by turn_stream.py (words, then
the turn model), while a caption may become final mid-speech (captions.py): at a short
pause after a complete sentence, at a speaker change, or at the longest caption allowed. An
utterance's finals are numbered by `segment`; the one that closes the utterance has `last`.
A short pause is decoded speculatively while it lasts; once done, the decode is committed if
its words form a sentence (the pause need not end first), else kept as the turn's words or,
when speech resumes, shown as an interim. Finals are sent strictly in order (stream_finals.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass

import numpy as np

from parley.settings import Settings

from .captions import CaptionPolicy, has_words
from .diarization import OnlineDiarizer
from .engine import Engine
from .protocol import SAMPLE_RATE, Emit, Interim, Preflight, Ready, SpeechEnded, SpeechStarted, StreamConfig
from .scheduler import Priority
from .segmenter import Segmenter, SpeechEnd, SpeechStart
from .stream_changes import StreamSpeakerChanges
from .stream_finals import Analysis, Caption, FinalsInOrder, analyse, caption_log
from .turn_stream import StreamTurns

log = logging.getLogger(__name__)

_QUIET = 2 * 512  # samples (two VAD frames) without speech: no new interim (one frame is a dip between words)


class StreamTooLong(Exception):
    pass


async def _nothing() -> str:
    return ""


@dataclass
class _Candidate:
    """A decode of the caption in progress up to a pause, [start, end) in samples, and its analysis (speaker,
    emotion) under way beside it, so that a turn's last words are final the moment the VAD ends the turn.
    The analysis is speculative: it ranks below the turn's decision and the reply (the pause may end the
    turn), and a caption committed before it is done gets it again at the priority of a final."""

    start: int
    end: int
    audio: np.ndarray
    task: asyncio.Task[str]
    analysis: asyncio.Task[Analysis | None]

    def cancel(self) -> None:
        self.analysis.cancel()
        self.task.cancel()


class TranscriptionStream:
    def __init__(self, engine: Engine, settings: Settings, config: StreamConfig, emit: Emit) -> None:
        self.id = uuid.uuid4().hex[:12]
        self._engine = engine
        self._config = config
        self._emit = emit
        self._segmenter = Segmenter(engine.models.vad, threshold=settings.vad_threshold,
                                    min_silence_ms=settings.min_silence_ms,
                                    max_utterance_s=settings.max_utterance_s)
        self._policy = CaptionPolicy(sentence_pause_ms=settings.sentence_pause_ms,
                                     max_caption_s=settings.max_caption_s)
        self._pause_samples = int(self._policy.sentence_pause_ms * SAMPLE_RATE / 1000)
        self._min_split = int(0.5 * SAMPLE_RATE)  # no final shorter than this from a speaker change
        similarity = engine.models.speaker.similarity.overridden(same_speaker=settings.speaker_threshold,
                                                                 change=settings.change_threshold)
        self._diarizer = OnlineDiarizer(threshold=similarity.same_speaker)
        self._changes = StreamSpeakerChanges(engine, settings, similarity.change,
                                             lambda a, b: not self._diarizer.same_speaker(a, b)) \
            if config.diarization else None
        self._interim_every = int(settings.interim_interval_ms * SAMPLE_RATE / 1000)
        self._max_samples = int(settings.max_stream_seconds * SAMPLE_RATE)
        self._metrics = engine.scheduler.metrics
        self._received = 0
        self._utterance = 0
        self._segment = 0  # finals committed so far in the utterance in progress
        self._next_interim_at = 0
        self._interim_end = 0  # audio end of the newest interim sent: interims never go back in time
        self._interim_task: asyncio.Task | None = None
        self._candidate: _Candidate | None = None
        self._finals = FinalsInOrder(self.id, config, self._diarizer, emit, engine.scheduler.metrics.final_latency)
        self._final_worker = asyncio.create_task(self._finals.send())
        self._analysis: tuple[int, int, int, asyncio.Task[str]] | None = None  # latest decode: the turn's words
        self._analysis_changed = asyncio.Event()
        self._turns = StreamTurns(engine, settings, self._segmenter, emit, self._words_up_to,
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
        if self._changes:
            self._changes.audio(samples)
        for event in self._segmenter.push(samples):
            await self._on_segment(event)
        self._split_at_speaker_changes()
        await self._consider_pause()
        self._bound_caption_length()
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
        self._finals.end()
        await self._final_worker

    async def close(self) -> None:
        """The client went away: drop pending work."""
        for task in (self._interim_task, self._final_worker):
            if task and not task.done():
                task.cancel()
        if self._candidate:
            self._candidate.cancel()
        if self._changes:
            self._changes.close()
        if self._turns:
            self._turns.close()

    # --- segmentation events ----------------------------------------------------------------

    async def _on_segment(self, event: SpeechStart | SpeechEnd) -> None:
        if isinstance(event, SpeechStart):
            self._utterance += 1
            self._segment = 0
            self._next_interim_at = event.start + self._interim_every
            if self._changes:
                self._changes.start(event.start)
            await self._emit(SpeechStarted(utterance_id=self._utterance, start=event.start / SAMPLE_RATE))
            return
        await self._emit(SpeechEnded(utterance_id=self._utterance, end=event.end / SAMPLE_RATE))
        if self._interim_task and not self._interim_task.done():
            self._interim_task.cancel()  # the final supersedes it
        candidate, self._candidate = self._candidate, None
        audio, start, decoded = event.audio, event.start, None
        change = self._changes.stop() if self._changes else None
        if change is not None and start + self._min_split < change < event.end - self._min_split and len(audio):
            # A change too close to the end for a later window to confirm: split the last final there.
            if candidate:
                candidate.cancel()
                candidate = None
            head = audio[: change - start]
            self._commit(start, change, self._recognize(head), head, last=False)
            audio, start = audio[change - start:], change
        if candidate and (candidate.start, candidate.end) == (event.start, event.end):
            decoded = candidate  # decoded and analysed during the pause the VAD waited out
        elif candidate and candidate.start == event.start and self._sentence_done(candidate) and len(audio):
            # A sentence, then a few more words before the pause: two finals.
            self._commit_candidate(candidate)
            audio, start = audio[candidate.end - start:], candidate.end
        elif candidate:
            candidate.cancel()
        if len(audio) or self._segment:
            # After mid-speech finals the utterance always gets its `last` one, empty if nothing followed.
            if self._segment and self._segmenter.last_speech_end - start < self._segmenter.min_speech:
                # A breath or click after a sentence's final is no speech, and Whisper makes up words on
                # it ("Thank you so much for watching"): the utterance closes without its words.
                if decoded is not None:
                    decoded.cancel()
                decoded, audio = None, audio[:0]
            if decoded is not None:
                self._commit_candidate(decoded, last=True)
            else:
                self._commit(start, event.end, self._recognize(audio), audio, last=True)

    # --- mid-speech finals ------------------------------------------------------------------

    def _split_at_speaker_changes(self) -> None:
        """Split the caption where the voice changes (stream_changes.py finds where)."""
        if not self._changes:
            return
        for at in self._changes.poll():
            if at > self._segmenter.utterance_start + self._min_split:
                self.split(at)
                self._changes.cut(at)

    async def _consider_pause(self) -> None:
        """At a short pause, decode the caption so far; once speech resumes, keep it if it is a sentence."""
        segmenter = self._segmenter
        end = segmenter.settled_end(self._pause_samples)
        candidate = self._candidate
        if candidate is not None and self._sentence_done(candidate):
            # A sentence: final as soon as its words are known, whether the pause goes on (to the turn's end,
            # 400 ms and more away) or speech resumes.
            self._candidate = None
            segmenter.cut(candidate.end)
            self._commit_candidate(candidate)
        elif candidate is not None and end != candidate.end:
            if not candidate.task.done() and end is None:
                return  # speech resumed: decide once the decode is done
            self._candidate = None
            if not candidate.task.done():
                # A newer pause while the older one's decode is still out: the newer may end the turn, and its
                # decode covers the older's audio; waiting for both would make the turn's words late.
                candidate.cancel()
            else:
                candidate.analysis.cancel()  # speech went on: no final of these words
                await self._candidate_as_interim(candidate)
        start = segmenter.utterance_start
        if end is None or end <= start or self._candidate is not None:
            return  # speaking, the pause's sentence already final, or already decoding
        if not self._turns and end - start < self._policy.min_caption_s * SAMPLE_RATE:
            return  # too short to be a caption of its own (a turn's pause needs its words however short)
        audio = segmenter.utterance_audio()[: end - start]
        # With turns, the reply waits for these words (turn_stream.py): they are on the reply path.
        priority = Priority.REPLY if self._turns else Priority.LIVE
        text = self._recognize(audio, priority)
        self._candidate = _Candidate(start, end, audio, text,
                                     asyncio.create_task(analyse(self._engine, self._config, text, audio, speculative=True)))
        self._set_analysis((self._utterance, start, end, text))

    def _set_analysis(self, analysis: tuple[int, int, int, asyncio.Task[str]]) -> None:
        self._analysis = analysis
        self._analysis_changed.set()  # wakes whoever waits for the words of a pause
        self._analysis_changed = asyncio.Event()

    async def _words_up_to(self, pause_start: float) -> Preflight | None:
        """The latest caption's words from a decode that reaches the pause begun at `pause_start` (stream
        seconds), once done; None if it failed. An older decode (the last turn's, a mid-sentence pause's)
        is not this pause's words: the pause's own (at `sentence_pause_ms`) or the final's will come."""
        since = int(round(pause_start * SAMPLE_RATE))
        while True:
            analysis, changed = self._analysis, self._analysis_changed
            if analysis is None or analysis[2] < since:
                await changed.wait()
                continue
            utterance, start, end, task = analysis
            await asyncio.wait({task})
            if self._analysis is not analysis:
                continue  # superseded while decoding (a newer pause, the caption's own final decode)
            if task.cancelled() or task.exception() is not None or task.result() is None:
                return None
            return Preflight(utterance_id=utterance, text=task.result(), start=start / SAMPLE_RATE,
                             end=end / SAMPLE_RATE)

    async def _candidate_as_interim(self, candidate: _Candidate) -> None:
        """A pause's decode that was not a sentence end is still the best hypothesis so far: show it."""
        task = candidate.task
        if (not self._config.interim or task.cancelled() or task.exception() is not None or not task.result()
                or candidate.start != self._segmenter.utterance_start or candidate.end <= self._interim_end):
            return
        self._interim_end = candidate.end
        await self._emit(Interim(utterance_id=self._utterance, segment=self._segment, text=task.result(),
                                 start=candidate.start / SAMPLE_RATE, end=candidate.end / SAMPLE_RATE))

    def _sentence_done(self, candidate: _Candidate) -> bool:
        task = candidate.task
        if not task.done() or task.cancelled() or task.exception() is not None:
            return False
        if candidate.start != self._segmenter.utterance_start:
            return False  # the caption was cut elsewhere meanwhile
        return self._policy.commit_at_pause(task.result(), (candidate.end - candidate.start) / SAMPLE_RATE)

    def _bound_caption_length(self) -> None:
        """No pause for `max_caption_s`: cut between words, as near the end as the VAD allows."""
        segmenter = self._segmenter
        start = segmenter.utterance_start
        if not segmenter.speaking or segmenter.position - start < self._policy.max_caption_s * SAMPLE_RATE:
            return
        if segmenter.settled_end() is not None:
            return  # a pause is under way: it ends the caption (or the turn) better than a cut
        earliest = segmenter.position - int(self._policy.search_s * SAMPLE_RATE)
        self.split(segmenter.quietest_point(earliest))

    def split(self, at: int) -> None:
        """Commit the caption in progress up to sample `at` now, speech going on (max length, speaker change)."""
        segmenter = self._segmenter
        start = segmenter.utterance_start
        if not segmenter.speaking or not start < at <= segmenter.position:
            return
        if self._candidate is not None:
            self._candidate.cancel()
            self._candidate = None
        audio = segmenter.utterance_audio()[: at - start]
        segmenter.cut(at)
        # Cut out of speech going on: kept even when the ASR is unsure it heard speech (a speaker change
        # inside an overlap decoded "four queen of clubs" with a 0.71 no-speech probability, and it was lost).
        self._commit(start, at, self._recognize(audio, inside_speech=True), audio, last=False)

    def _commit(self, start: int, end: int, text: asyncio.Task[str], audio: np.ndarray, *, last: bool) -> None:
        self._queue_final(start, end, text, asyncio.create_task(analyse(self._engine, self._config, text, audio)), last=last)

    def _commit_candidate(self, candidate: _Candidate, *, last: bool = False) -> None:
        analysis = candidate.analysis
        if not analysis.done():
            analysis.cancel()  # a final now: its analysis must not wait behind the reply
            analysis = asyncio.create_task(analyse(self._engine, self._config, candidate.task, candidate.audio))
        self._queue_final(candidate.start, candidate.end, candidate.task, analysis, last=last)

    def _queue_final(self, start: int, end: int, text: asyncio.Task[str], analysis: asyncio.Task[Analysis | None],
                     *, last: bool) -> None:
        self._set_analysis((self._utterance, start, end, text))
        if caption_log.isEnabledFor(logging.DEBUG):
            caption_log.debug("stream %s commit %d.%d [%.2f, %.2f) at %.2f", self.id, self._utterance, self._segment,
                              start / SAMPLE_RATE, end / SAMPLE_RATE, self._received / SAMPLE_RATE)
        self._finals.put(Caption(self._utterance, self._segment, start, end, analysis, last, time.monotonic()))
        self._segment += 1

    # --- interims ---------------------------------------------------------------------------

    def _maybe_interim(self) -> None:
        segmenter = self._segmenter
        quiet = segmenter.position - segmenter.last_speech_end
        if not (self._config.interim and segmenter.speaking) or quiet >= _QUIET:
            return  # nobody speaks, or a pause began: its decode must not wait behind an interim
        if segmenter.position < self._next_interim_at:
            return
        if self._interim_task and not self._interim_task.done():
            return
        self._next_interim_at = segmenter.position + self._interim_every
        audio = segmenter.utterance_audio()
        self._interim_task = asyncio.create_task(
            self._interim(self._utterance, self._segment, audio, segmenter.utterance_start))

    async def _interim(self, utterance: int, segment: int, audio: np.ndarray, start: int) -> None:
        try:
            text = await self._engine.recognize(audio, priority=Priority.INTERIM, beam_size=1, draft=True)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - an interim is best effort; the final will follow
            log.exception("interim decode failed on stream %s", self.id)
            return
        end = start + len(audio)
        if ((utterance, segment) != (self._utterance, self._segment) or not has_words(text)
                or not self._segmenter.speaking
                or end <= self._interim_end):
            return  # a newer caption or the final overtook it
        self._interim_end = end
        self._metrics.interim_lag.observe(max(0.0, (self._received - end) / SAMPLE_RATE))
        await self._emit(Interim(utterance_id=utterance, segment=segment, text=text, start=start / SAMPLE_RATE,
                                 end=end / SAMPLE_RATE))

    # --- finals -------------------------------------------------------------------------------

    def _recognize(self, audio: np.ndarray, priority: Priority = Priority.LIVE, *,
                   inside_speech: bool = False) -> asyncio.Task[str]:
        if not len(audio):
            return asyncio.create_task(_nothing())
        if inside_speech:
            return asyncio.create_task(self._engine.recognize(audio, priority=priority, inside_speech=True))
        return asyncio.create_task(self._engine.recognize(audio, priority=priority))
