"""The LiveKit seam: all that Parley's LiveKit transport needs from a LiveKit server.

`RoomConnection` is the seam; `RtcRoomConnection` is its only implementation that talks to
a server, a thin adapter over a connected `livekit.rtc.Room`. Everything above it (the
transport, captions, the agent) runs and is tested without a LiveKit server. It delivers:

- room events, in order: who is here (existing participants first), who joins and leaves,
  and each human's microphone as 16 kHz mono PCM16 (LiveKit's native resampler does the
  conversion); agents and non-microphone tracks are left out;
- text streams (LiveKit's transcription protocol), data packets, the agent's attributes,
  and one published audio track for the assistant's voice.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass

from livekit import rtc

from inference_server.protocol import SAMPLE_RATE


@dataclass(frozen=True)
class Joined:
    identity: str
    name: str


@dataclass(frozen=True)
class Left:
    identity: str


@dataclass(frozen=True)
class TrackStarted:
    identity: str
    track_sid: str
    audio: AsyncIterator[bytes]  # 16 kHz mono PCM16; ends with the track


@dataclass(frozen=True)
class TrackEnded:
    identity: str
    track_sid: str


@dataclass(frozen=True)
class Disconnected:
    reason: str


RoomEvent = Joined | Left | TrackStarted | TrackEnded | Disconnected


class RoomConnection(ABC):
    """One room on a LiveKit server, as the agent's participant in it."""

    identity: str

    @abstractmethod
    def events(self) -> AsyncIterator[RoomEvent]:
        """Room events in order; the ones for participants already present come first."""

    @abstractmethod
    async def publish_audio(self, source: rtc.AudioSource, name: str) -> str:
        """Publish `source` as the agent's microphone; returns the track sid."""

    @abstractmethod
    async def send_text(self, text: str, *, topic: str, attributes: dict[str, str], sender_identity: str,
                        to: str | None = None) -> None:
        """One complete text stream (LiveKit's data streams), to everyone or one identity."""

    @abstractmethod
    async def send_data(self, payload: bytes, *, topic: str, to: str | None = None) -> None:
        """One reliable data packet."""

    @abstractmethod
    async def set_attributes(self, attributes: dict[str, str]) -> None:
        """The agent participant's attributes (LiveKit's `lk.agent.state` lives there)."""

    @abstractmethod
    async def aclose(self) -> None: ...


class RtcRoomConnection(RoomConnection):
    """Over a connected `rtc.Room` (the worker's `JobContext.room`)."""

    def __init__(self, room: rtc.Room) -> None:
        self._room = room
        self.identity = room.local_participant.identity
        self._queue: asyncio.Queue[RoomEvent] = asyncio.Queue()
        self._audio: dict[str, rtc.AudioStream] = {}  # track sid -> its frames
        room.on("participant_connected", self._participant_connected)
        room.on("participant_disconnected", self._participant_disconnected)
        room.on("track_subscribed", self._track_subscribed)
        room.on("track_unsubscribed", self._track_unsubscribed)
        room.on("disconnected", self._disconnected)
        for participant in room.remote_participants.values():  # here before we were
            self._participant_connected(participant)
            for publication in participant.track_publications.values():
                if publication.track is not None and publication.subscribed:
                    self._track_subscribed(publication.track, publication, participant)

    @staticmethod
    def _wanted(participant: rtc.RemoteParticipant) -> bool:
        return participant.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT

    def _participant_connected(self, participant: rtc.RemoteParticipant) -> None:
        if self._wanted(participant):
            self._queue.put_nowait(Joined(participant.identity, participant.name or participant.identity))

    def _participant_disconnected(self, participant: rtc.RemoteParticipant) -> None:
        if self._wanted(participant):
            self._queue.put_nowait(Left(participant.identity))

    def _track_subscribed(self, track: rtc.Track, publication: rtc.RemoteTrackPublication,
                          participant: rtc.RemoteParticipant) -> None:
        if (track.kind != rtc.TrackKind.KIND_AUDIO or publication.source != rtc.TrackSource.SOURCE_MICROPHONE
                or not self._wanted(participant) or publication.sid in self._audio):
            return
        stream = rtc.AudioStream.from_track(track=track, sample_rate=SAMPLE_RATE, num_channels=1)
        self._audio[publication.sid] = stream
        self._queue.put_nowait(TrackStarted(participant.identity, publication.sid, _pcm16(stream)))

    def _track_unsubscribed(self, track: rtc.Track, publication: rtc.RemoteTrackPublication,
                            participant: rtc.RemoteParticipant) -> None:
        stream = self._audio.pop(publication.sid, None)
        if stream is not None:
            asyncio.ensure_future(stream.aclose())
            self._queue.put_nowait(TrackEnded(participant.identity, publication.sid))

    def _disconnected(self, reason: object = "") -> None:
        self._queue.put_nowait(Disconnected(str(reason)))

    async def events(self) -> AsyncIterator[RoomEvent]:
        while True:
            event = await self._queue.get()
            yield event
            if isinstance(event, Disconnected):
                return

    async def publish_audio(self, source: rtc.AudioSource, name: str) -> str:
        track = rtc.LocalAudioTrack.create_audio_track(name, source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        publication = await self._room.local_participant.publish_track(track, options)
        return publication.sid

    async def send_text(self, text: str, *, topic: str, attributes: dict[str, str], sender_identity: str,
                        to: str | None = None) -> None:
        writer = await self._room.local_participant.stream_text(
            destination_identities=[to] if to else None, topic=topic, attributes=attributes,
            sender_identity=sender_identity)
        await writer.write(text)
        await writer.aclose()

    async def send_data(self, payload: bytes, *, topic: str, to: str | None = None) -> None:
        await self._room.local_participant.publish_data(payload, reliable=True, topic=topic,
                                                        destination_identities=[to] if to else [])

    async def set_attributes(self, attributes: dict[str, str]) -> None:
        await self._room.local_participant.set_attributes(attributes)

    async def aclose(self) -> None:
        for stream in self._audio.values():
            await stream.aclose()
        self._audio.clear()
        await self._room.disconnect()


async def _pcm16(stream: rtc.AudioStream) -> AsyncIterator[bytes]:
    async for event in stream:
        yield bytes(event.frame.data)
