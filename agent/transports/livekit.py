"""The LiveKit transport: a room on a LiveKit SFU, reached through the seam in livekit_connection.py.

LiveKit carries media and presence itself (clients see who is there, who is muted, who is
speaking), so this transport only turns the room into the agent's interface: one
`AudioStream` per human microphone, captions out as LiveKit transcription text streams
(topic `lk.transcription`, which LiveKit's own client components render), the assistant's
state as its `lk.agent.state` attribute, every other room event as a JSON data packet on
topic `parley.events`, and the assistant's voice as one published track (`LiveKitAudioOutput`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable

import numpy as np
from livekit import rtc
from pydantic import BaseModel

from parley.room_schemas import free_color

from ..conversation.audio_output import PacedAudioOutput
from ..events import AssistantState, CaptionFinal, CaptionInterim, ParticipantInfo
from .base import AudioStream, RoomTransport
from .livekit_connection import Disconnected, Joined, Left, RoomConnection, TrackEnded, TrackStarted

log = logging.getLogger(__name__)

# LiveKit's transcription protocol (livekit.agents.types; a test checks they still match).
TOPIC_TRANSCRIPTION = "lk.transcription"
ATTR_SEGMENT_ID = "lk.segment_id"
ATTR_TRACK_ID = "lk.transcribed_track_id"
ATTR_FINAL = "lk.transcription_final"
# Parley's own attributes on the same streams.
ATTR_PARTICIPANT = "parley.participant"
ATTR_SPEAKER = "parley.speaker"
ATTR_SPEAKER_INDEX = "parley.speaker_index"
ATTR_EMOTION = "parley.emotion"
ATTR_EMOTION_SCORE = "parley.emotion_score"
ATTR_INTERRUPTED = "parley.interrupted"  # the assistant's reply was cut short by a human
ATTR_START = "parley.start"  # seconds of the speaker's audio, as in agent/events.py
ATTR_END = "parley.end"
TOPIC_EVENTS = "parley.events"
ATTR_AGENT_STATE = "lk.agent.state"  # listening/thinking/speaking, read by LiveKit's voice-assistant components
ASSISTANT_TRACK = "parley-assistant"


class LiveKitAudioOutput(PacedAudioOutput):
    """The assistant's voice into an `rtc.AudioSource`, which plays it out in real time.

    `capture_frame` returns once the source's queue (`queue_ms`) has room, so the source keeps
    the time and audio counts as played at most `queue_ms` before the room hears it; pause and
    stop drop that queue.
    """

    def __init__(self, *, queue_ms: int = 100) -> None:
        super().__init__()
        self.source = rtc.AudioSource(self.sample_rate, 1, queue_size_ms=queue_ms)

    def _emit_impl(self, frame: np.ndarray) -> Awaitable[None]:
        return self.source.capture_frame(rtc.AudioFrame(frame.tobytes(), self.sample_rate, 1, len(frame)))

    def _clear_sink_impl(self) -> None:
        self.source.clear_queue()

    async def aclose(self) -> None:
        await super().aclose()
        await self.source.aclose()


class LiveKitRoom(RoomTransport):
    def __init__(self, room: str, connection: RoomConnection, *, assistant_name: str = "Parley") -> None:
        super().__init__(room)
        self.connection = connection
        self.assistant = ParticipantInfo(id=connection.identity, name=assistant_name, kind="agent")
        self.audio_output = LiveKitAudioOutput()
        self._humans: dict[str, ParticipantInfo] = {}
        self._tracks: dict[str, str] = {}  # identity -> microphone track sid
        self._audio: dict[str, tuple[AudioStream, asyncio.Task]] = {}  # identity -> its microphone
        self._assistant_track: str | None = None

    @property
    def participants(self) -> list[ParticipantInfo]:
        return [self.assistant, *self._humans.values()]

    async def run(self) -> None:
        """Serve the room until the connection ends."""
        self._assistant_track = await self.connection.publish_audio(self.audio_output.source, ASSISTANT_TRACK)
        async for event in self.connection.events():
            if isinstance(event, Joined):
                await self._joined(event)
            elif isinstance(event, TrackStarted):
                await self._track_started(event)
            elif isinstance(event, TrackEnded):
                self._end_audio(event.identity)
            elif isinstance(event, Left):
                await self._left(event.identity)
            elif isinstance(event, Disconnected):
                log.info("room %s: disconnected from LiveKit (%s)", self.room, event.reason)
        for identity in list(self._humans):
            await self._left(identity)

    async def aclose(self) -> None:
        for identity in list(self._audio):
            self._end_audio(identity)
        await self.audio_output.aclose()
        await self.connection.aclose()

    # --- presence and microphones ----------------------------------------------------------

    async def _joined(self, event: Joined) -> None:
        if event.identity in self._humans:
            return
        color = free_color(p.color for p in self._humans.values())
        info = self._humans[event.identity] = ParticipantInfo(id=event.identity, name=event.name, color=color)
        log.info("room %s: %s (%s) joined", self.room, info.name, info.id)
        if self.listener:
            await self.listener.participant_joined(info)

    async def _track_started(self, event: TrackStarted) -> None:
        info = self._humans.get(event.identity)
        if info is None:
            return
        self._end_audio(event.identity)  # a re-published microphone replaces the old one
        stream = AudioStream()
        task = asyncio.create_task(_pump(event.audio, stream), name=f"microphone-{event.identity}")
        self._audio[event.identity] = (stream, task)
        self._tracks[event.identity] = event.track_sid
        if self.listener:
            await self.listener.audio_track(info, stream)

    def _end_audio(self, identity: str) -> None:
        if (entry := self._audio.pop(identity, None)) is not None:
            stream, task = entry
            task.cancel()
            stream.close()  # the transcriber sends what is buffered, then its last finals

    async def _left(self, identity: str) -> None:
        self._end_audio(identity)
        info = self._humans.pop(identity, None)
        if info is not None:
            log.info("room %s: %s left", self.room, info.name)
            if self.listener:
                await self.listener.participant_left(info)

    # --- room events out ---------------------------------------------------------------------

    async def send(self, event: BaseModel, *, to: str | None = None) -> None:
        try:
            if isinstance(event, (CaptionInterim, CaptionFinal)):
                await self._send_caption(event, to)
                return
            if isinstance(event, AssistantState):
                await self.connection.set_attributes({ATTR_AGENT_STATE: event.state})
            await super().send(event, to=to)
        except Exception as exc:  # noqa: BLE001 - a failed publish must not stop captions
            log.warning("room %s: could not publish %s: %s", self.room, type(event).__name__, exc)

    async def _send_caption(self, caption: CaptionInterim | CaptionFinal, to: str | None) -> None:
        """One caption update = one text stream, as livekit-agents publishes user transcripts:
        interims and the final of an utterance share `lk.segment_id`."""
        final = isinstance(caption, CaptionFinal)
        attributes = {ATTR_SEGMENT_ID: caption.caption_id, ATTR_FINAL: "true" if final else "false",
                      ATTR_PARTICIPANT: caption.participant_id, ATTR_SPEAKER: caption.speaker,
                      ATTR_START: f"{caption.start:.3f}", ATTR_END: f"{caption.end:.3f}"}
        is_assistant = caption.participant_id == self.assistant.id
        track = self._assistant_track if is_assistant else self._tracks.get(caption.participant_id)
        if track:
            attributes[ATTR_TRACK_ID] = track
        if final:
            attributes.update({ATTR_SPEAKER_INDEX: str(caption.speaker_index), ATTR_EMOTION: caption.emotion,
                               ATTR_EMOTION_SCORE: f"{caption.emotion_score:.3f}",
                               ATTR_INTERRUPTED: "true" if caption.interrupted else "false"})
        # Sent on behalf of the speaker while they are here, so clients attribute it natively.
        sender = caption.participant_id if caption.participant_id in self._humans else self.connection.identity
        await self.connection.send_text(caption.text, topic=TOPIC_TRANSCRIPTION, attributes=attributes,
                                        sender_identity=sender, to=to)

    async def _send_impl(self, payload: str, to: str | None) -> None:
        await self.connection.send_data(payload.encode(), topic=TOPIC_EVENTS, to=to)


async def _pump(audio: AsyncIterator[bytes], stream: AudioStream) -> None:
    try:
        async for pcm in audio:
            stream.push(pcm)
    finally:
        stream.close()
