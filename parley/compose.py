"""Composition: the API process with embedded rooms and their agents. The one place that
imports both `api` and `agent` (with the CLI and the LiveKit worker's entry)."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import FastAPI

from agent.background import BackgroundWork
from agent.inference_pool import InferencePool
from agent.room_session import room_sessions
from agent.transports.embedded import EmbeddedRoomServer
from api.app import RoomHostFactory, create_app
from parley.store import Store

from .room_schemas import ParticipantInfo
from .settings import Settings, process_settings
from .signalling import Joined

class KeptEmbeddedRooms:
    """Embedded rooms whose transcripts and memories are kept; closing waits (bounded) for the
    last sessions' after-session work (titles, summaries, memories) before the store closes.
    Agents get a pool over the configured inference server(s), as LiveKit agents do: failover
    works here too."""

    def __init__(self, settings: Settings, store: Store, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self.background = BackgroundWork()
        self.inference = InferencePool.from_settings(settings)
        self.server = EmbeddedRoomServer(settings, room_sessions(settings, store, self.inference, self.background),
                                         clock=clock)

    def participants(self, room: str) -> list[ParticipantInfo]:
        return self.server.participants(room)

    async def join(self, room: str, name: str, offer_sdp: str) -> Joined:
        return await self.server.join(room, name, offer_sdp)

    async def aclose(self) -> None:
        await self.server.aclose()  # ends each room's session: its title and memories start
        await self.background.drain(self._settings.after_session_timeout_s)
        await self.inference.aclose()


def embedded_rooms(settings: Settings, clock: Callable[[], float] = time.monotonic) -> RoomHostFactory:
    return lambda store: KeptEmbeddedRooms(settings, store, clock=clock)


def create_embedded_app(settings: Settings | None = None, *, clock: Callable[[], float] = time.monotonic) -> FastAPI:
    """The API with embedded rooms: what `parley api` and `parley up` serve. `clock` times the
    rooms' peer timeouts."""
    settings = settings or process_settings()
    return create_app(settings, room_host=embedded_rooms(settings, clock))
