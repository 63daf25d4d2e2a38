"""The agent's view of a room, whatever carries the media (embedded aiortc now, LiveKit later).

A transport tells its listener who joins and leaves, hands over each participant's
microphone as 16 kHz mono PCM16, carries room events to the participants, and plays the
assistant's voice (`audio_output`). As in livekit-agents' plugin classes, the public methods
live here and implementations fill in `_impl` hooks.
"""

from __future__ import annotations

import asyncio
import collections
from abc import ABC, abstractmethod
from typing import Protocol

from pydantic import BaseModel

from inference_server.protocol import SAMPLE_RATE, SAMPLE_WIDTH

from ..conversation.audio_output import AudioOutput
from ..events import ParticipantInfo


class AudioStream:
    """One participant's microphone: chunks of 16 kHz mono PCM16 in arrival order.

    `push` never blocks the transport: when the reader falls more than `max_seconds`
    behind, the oldest audio is dropped, because live captions want now, not everything.
    """

    def __init__(self, *, max_seconds: float = 5.0) -> None:
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._limit = int(max_seconds * SAMPLE_RATE * SAMPLE_WIDTH)
        self._ready = asyncio.Event()
        self._closed = False
        self.dropped_bytes = 0

    def push(self, pcm16: bytes) -> None:
        if self._closed or not pcm16:
            return
        self._chunks.append(pcm16)
        self._buffered += len(pcm16)
        while self._buffered > self._limit:
            old = self._chunks.popleft()
            self._buffered -= len(old)
            self.dropped_bytes += len(old)
        self._ready.set()

    def close(self) -> None:
        """The track ended: the reader gets what is buffered, then the iteration stops."""
        self._closed = True
        self._ready.set()

    def pop_nowait(self, max_bytes: int) -> bytes | None:
        """The next buffered chunk if there is one and it fits in `max_bytes`."""
        if not self._chunks or len(self._chunks[0]) > max_bytes:
            return None
        chunk = self._chunks.popleft()
        self._buffered -= len(chunk)
        return chunk

    def __aiter__(self) -> AudioStream:
        return self

    async def __anext__(self) -> bytes:
        while not self._chunks:
            if self._closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        chunk = self._chunks.popleft()
        self._buffered -= len(chunk)
        return chunk


class RoomAgentHandle(Protocol):
    """What a host keeps of the agent it built for a room: something to close with it."""

    async def aclose(self) -> None: ...


class RoomListener(Protocol):
    """What the agent implements; a transport calls it from its own tasks."""

    async def participant_joined(self, participant: ParticipantInfo) -> None: ...

    async def participant_left(self, participant: ParticipantInfo) -> None: ...

    async def audio_track(self, participant: ParticipantInfo, audio: AudioStream) -> None:
        """A participant's microphone started; `audio` ends when the track does."""


class RoomTransport(ABC):
    """One room. `send` delivers an event to everyone in it, or to one participant.

    Implementations set `assistant` (the assistant as the room shows it) and `audio_output`
    (where its voice goes: everyone in the room hears it).
    """

    assistant: ParticipantInfo
    audio_output: AudioOutput

    def __init__(self, room: str) -> None:
        self.room = room
        self._listener: RoomListener | None = None

    def attach(self, listener: RoomListener) -> None:
        self._listener = listener

    @property
    def listener(self) -> RoomListener | None:
        return self._listener

    @property
    @abstractmethod
    def participants(self) -> list[ParticipantInfo]:
        """Everyone present, the assistant included."""

    async def send(self, event: BaseModel, *, to: str | None = None) -> None:
        await self._send_impl(event.model_dump_json(), to)

    @abstractmethod
    async def _send_impl(self, payload: str, to: str | None) -> None: ...
