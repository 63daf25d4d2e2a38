"""Live captions of one participant: one ASR stream on the inference server per microphone track.

While the inference server is unreachable the participant's audio is skipped, not queued,
so captions resume live when it comes back; each new stream gets fresh diarization and
fresh caption ids (the `epoch`), and its times are shifted onto the participant's clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from pydantic import BaseModel

from inference_server.client import InferenceError
from inference_server.protocol import (
    SAMPLE_RATE,
    SAMPLE_WIDTH,
    EndOfTurn,
    ErrorEvent,
    Final,
    Interim,
    Preflight,
    Ready,
    SpeechEnded,
    SpeechStarted,
    StreamConfig,
    StreamEvent,
)
from parley.backoff import Backoff

from .conversation.events import (UserInput, UserPreflight, UserStartedSpeaking, UserStoppedSpeaking,
                                  UserTranscript, UserTurnEnded, now)
from .events import CaptionFinal, CaptionInterim, ParticipantInfo, Speaking
from .labels import SpeakerLabels
from .ports import Inference, TranscriptionStream
from .transports.base import AudioStream

log = logging.getLogger(__name__)

BYTES_PER_SECOND = SAMPLE_RATE * SAMPLE_WIDTH
MAX_CHUNK_BYTES = BYTES_PER_SECOND // 10  # the protocol takes 20-100 ms per message
RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 5.0)  # then every 5 s while the participant is here
FINISH_TIMEOUT_S = 15.0  # after the participant leaves, wait this long for the last finals

Publish = Callable[[BaseModel], Awaitable[None]]
StatusChanged = Callable[[str, bool, str], Awaitable[None]]  # (participant id, available, message)
Hear = Callable[[UserInput], Awaitable[None]]


class CaptionsUnavailable(Exception):
    pass


class ParticipantTranscriber:
    def __init__(self, client: Inference, participant: ParticipantInfo, audio: AudioStream,
                 publish: Publish, status_changed: StatusChanged, *, hear: Hear | None = None) -> None:
        self.participant = participant
        self._client = client
        self._audio = audio
        self._publish = publish
        self._status_changed = status_changed
        self._hear = hear  # the conversation: speech and transcripts, for turn-taking
        self._consumed = 0  # bytes of audio taken from the track, sent or skipped
        self._audio_ended = False
        self._available: bool | None = None
        self._backoff = Backoff(RETRY_DELAYS_S)  # between failed connection attempts
        self.epoch = 0  # ASR streams opened so far

    @property
    def position_s(self) -> float:
        """Where the participant's audio clock stands (dropped audio counts: it happened)."""
        return (self._consumed + self._audio.dropped_bytes) / BYTES_PER_SECOND

    async def run(self) -> None:
        while not self._audio_ended:
            try:
                await self._stream_once()
            except CaptionsUnavailable as exc:
                await self._set_available(False, str(exc))
            except Exception:
                log.exception("captions stream of %s failed", self.participant.id)
                await self._set_available(False, "Live captions hit an error; retrying.")
            if self._audio_ended:
                break
            await self._skip_audio(self._backoff.next_delay())

    # --- one ASR stream ----------------------------------------------------------------------

    async def _stream_once(self) -> None:
        try:
            async with self._client.stream(StreamConfig()) as stream:
                await self._serve(stream)
        except InferenceError as exc:  # raised only while connecting
            log.info("inference server unreachable for %s: %s", self.participant.id, exc)
            raise CaptionsUnavailable("Live captions are unavailable: the inference server cannot be "
                                      "reached. Retrying…") from None

    async def _serve(self, stream: TranscriptionStream) -> None:
        labels = SpeakerLabels(self.participant.name)
        offset = self.position_s  # the stream's time 0 on the participant's clock
        self.epoch += 1
        # The server answers `ready` once audio flows (or refuses at once, e.g. models loading).
        pump = asyncio.create_task(self._pump(stream))
        try:
            events = aiter(stream)
            await self._expect_ready(events)
            self._backoff.reset()
            await self._set_available(True, "")
            async for event in events:
                await self._on_event(event, labels, offset)
        finally:
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)
        if not self._audio_ended:
            raise CaptionsUnavailable("Live captions stopped: the inference server went away. Retrying…")

    async def _expect_ready(self, events) -> None:
        try:
            first = await asyncio.wait_for(anext(events), timeout=10.0)
        except (StopAsyncIteration, TimeoutError):
            first = None
        if isinstance(first, Ready):
            return
        if isinstance(first, ErrorEvent) and first.code == "not_ready":
            raise CaptionsUnavailable("Live captions are starting up (models loading)…")
        detail = first.message if isinstance(first, ErrorEvent) else "no answer from the inference server"
        raise CaptionsUnavailable(f"Live captions are unavailable: {detail}. Retrying…")

    async def _pump(self, stream: TranscriptionStream) -> None:
        """Audio to the stream, coalescing a backlog into messages of at most 100 ms."""
        async for chunk in self._audio:
            parts, size = [chunk], len(chunk)
            while (more := self._audio.pop_nowait(MAX_CHUNK_BYTES - size)) is not None:
                parts.append(more)
                size += len(more)
            self._consumed += size
            await stream.send_audio(b"".join(parts))
        self._audio_ended = True
        await stream.end()  # the server sends the last finals, then closes
        await asyncio.sleep(FINISH_TIMEOUT_S)
        await stream.aclose()

    async def _skip_audio(self, seconds: float) -> None:
        """Drain (and drop) the microphone for `seconds`, or until it ends."""
        deadline = now() + seconds
        iterator = aiter(self._audio)
        while (left := deadline - now()) > 0:
            try:
                chunk = await asyncio.wait_for(anext(iterator), timeout=left)
            except TimeoutError:
                return
            except StopAsyncIteration:
                self._audio_ended = True
                return
            self._consumed += len(chunk)

    # --- events --------------------------------------------------------------------------------

    async def _on_event(self, event: StreamEvent, labels: SpeakerLabels, offset: float) -> None:
        pid = self.participant.id
        at = now()
        if isinstance(event, SpeechStarted):
            await self._tell(UserStartedSpeaking(pid, at))  # first: a reply talking over this must stop now
            await self._publish(Speaking(participant_id=pid, speaking=True))
        elif isinstance(event, SpeechEnded):
            # The audio clock says how long ago the speech ended: the stream is live, so its
            # newest audio is "now" (the VAD waited out a silence before saying so). `end`
            # includes the VAD's short post-roll, so this errs late by that much, never early.
            ago = max(0.0, self.position_s - (event.end + offset))
            await self._publish(Speaking(participant_id=pid, speaking=False))
            await self._tell(UserStoppedSpeaking(pid, at, speech_end_at=at - ago))
        elif isinstance(event, Interim):
            await self._publish(CaptionInterim(
                caption_id=self._caption_id(event.utterance_id, event.segment), participant_id=pid, speaker=labels.last,
                text=event.text, start=round(event.start + offset, 3), end=round(event.end + offset, 3)))
            await self._tell(UserTranscript(pid, labels.last, event.text, False, at))
        elif isinstance(event, Final) and event.text:  # an empty final only closes its utterance: no caption
            label, index = labels.label(event.speaker)
            await self._publish(CaptionFinal(
                caption_id=self._caption_id(event.utterance_id, event.segment), participant_id=pid, speaker=label,
                speaker_index=index, text=event.text, start=round(event.start + offset, 3),
                end=round(event.end + offset, 3), emotion=event.emotion, emotion_score=event.emotion_score))
            await self._tell(UserTranscript(pid, label, event.text, True, at, event.emotion, event.emotion_score))
        elif isinstance(event, Final) and event.last:
            # An utterance whose words were all final before its speech ended (a sentence is final at its
            # pause): the conversation waits for a final after each speech_ended, and this is it.
            await self._tell(UserTranscript(pid, labels.last, "", True, at))
        elif isinstance(event, Preflight):  # for the assistant only: not a caption
            await self._tell(UserPreflight(pid, labels.last, event.text, at, end=event.end + offset))
        elif isinstance(event, EndOfTurn):
            await self._tell(UserTurnEnded(pid, at, end=event.end + offset, probability=event.probability,
                                           reason=event.reason))
        elif isinstance(event, ErrorEvent):
            log.warning("inference stream error for %s: %s (%s)", pid, event.message, event.code)

    async def _tell(self, event: UserInput) -> None:
        if self._hear is not None:
            await self._hear(event)

    def _caption_id(self, utterance_id: int, segment: int) -> str:
        """One caption per final: an utterance committed in several finals shows several lines."""
        suffix = f".{segment}" if segment else ""
        return f"{self.participant.id}-{self.epoch}-{utterance_id}{suffix}"

    async def _set_available(self, available: bool, message: str) -> None:
        if available != self._available:
            self._available = available
            await self._status_changed(self.participant.id, available, message)
