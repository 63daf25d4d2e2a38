"""An in-memory LiveKit room behind the transport's seam (`RoomConnection`), for tests and the
memory measurement: participants join and leave, microphones play audio in real time, and
everything the agent publishes is recorded."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np
from livekit import rtc

from agent.transports.livekit_connection import (Disconnected, Joined, Left, RoomConnection, RoomEvent, TrackEnded,
                                                 TrackStarted)
from bench.audio import pcm16_array

CHUNK_MS = 20


@dataclass
class SentText:
    text: str
    topic: str
    attributes: dict[str, str]
    sender_identity: str
    to: str | None
    at: float


class FakeMicrophone:
    """Audio queued with `play` in real time, silence between, until `close`."""

    def __init__(self) -> None:
        self._pending = np.zeros(0, np.int16)
        self._closed = False

    def play(self, samples: np.ndarray) -> None:
        self._pending = np.concatenate([self._pending, pcm16_array(samples)])

    @property
    def playing(self) -> bool:
        return len(self._pending) > 0

    def close(self) -> None:
        self._closed = True

    async def frames(self) -> AsyncIterator[bytes]:
        size = 16000 * CHUNK_MS // 1000
        start = time.monotonic()
        for tick in itertools.count(1):
            if self._closed:
                return
            chunk, self._pending = self._pending[:size], self._pending[size:]
            yield np.concatenate([chunk, np.zeros(size - len(chunk), np.int16)]).tobytes()
            await asyncio.sleep(max(0.0, start + tick * CHUNK_MS / 1000 - time.monotonic()))


class FakeRoomConnection(RoomConnection):
    def __init__(self, identity: str = "agent-parley") -> None:
        self.identity = identity
        self._events: asyncio.Queue[RoomEvent] = asyncio.Queue()
        self._microphones: dict[str, FakeMicrophone] = {}
        self._sids = itertools.count(1)
        self.texts: list[SentText] = []
        self.data: list[tuple[str, dict, str | None]] = []  # (topic, JSON payload, to)
        self.published: list[str] = []
        self.attributes: dict[str, str] = {}
        self.closed = False

    # --- the room's side (what a test does) ---------------------------------------------------

    def join(self, identity: str, name: str) -> FakeMicrophone:
        """A participant joins and publishes a microphone."""
        microphone = self._microphones[identity] = FakeMicrophone()
        self._events.put_nowait(Joined(identity, name))
        self._events.put_nowait(TrackStarted(identity, f"TR_{identity}_{next(self._sids)}", microphone.frames()))
        return microphone

    def leave(self, identity: str) -> None:
        self._microphones.pop(identity).close()
        self._events.put_nowait(TrackEnded(identity, ""))
        self._events.put_nowait(Left(identity))

    def disconnect(self) -> None:
        self._events.put_nowait(Disconnected("test"))

    def captions(self, *, final: bool | None = None) -> list[SentText]:
        return [t for t in self.texts if t.topic == "lk.transcription"
                and (final is None or t.attributes["lk.transcription_final"] == ("true" if final else "false"))]

    # --- the seam ------------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[RoomEvent]:
        while True:
            event = await self._events.get()
            yield event
            if isinstance(event, Disconnected):
                return

    async def publish_audio(self, source: rtc.AudioSource, name: str) -> str:
        self.published.append(name)
        return "TR_assistant"

    async def send_text(self, text: str, *, topic: str, attributes: dict[str, str], sender_identity: str,
                        to: str | None = None) -> None:
        self.texts.append(SentText(text, topic, dict(attributes), sender_identity, to, time.monotonic()))

    async def send_data(self, payload: bytes, *, topic: str, to: str | None = None) -> None:
        self.data.append((topic, json.loads(payload), to))

    async def set_attributes(self, attributes: dict[str, str]) -> None:
        self.attributes.update(attributes)

    async def aclose(self) -> None:
        self.closed = True
