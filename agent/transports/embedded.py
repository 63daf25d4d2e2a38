"""The embedded transport: aiortc rooms served by this process, no media server needed.

Every browser has one RTCPeerConnection to the server (signalled over HTTP, offer/answer,
no trickle), sends its microphone, and receives one mix-minus track of everyone else, the
assistant's voice included (embedded_voice.py). A data channel carries room events both
ways. Each room gets an agent when it opens and loses it when the last person leaves. A
peer that never connects, fails, or goes silent (no audio, no data for `peer_timeout_s`)
is dropped and the room is told.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from aiortc import RTCConfiguration, RTCIceServer

from parley.room_schemas import free_color
from parley.settings import Settings
from parley.signalling import Joined, JoinRefused, NameTaken, RoomFull

from ..events import (
    ClientMessage,
    Leave,
    ParticipantInfo,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    SetMuted,
    Welcome,
)
from .base import RoomAgentHandle, RoomTransport
from .embedded_peer import PeerSession
from .embedded_voice import EmbeddedVoiceOutput
from .loopback_ice import use_loopback_candidates_only
from .offer import check_offer

log = logging.getLogger(__name__)

ASSISTANT_ID = "assistant"
WATCHDOG_INTERVAL_S = 1.0


AgentFactory = Callable[["EmbeddedRoom"], RoomAgentHandle]
Clock = Callable[[], float]


class EmbeddedRoom(RoomTransport):
    def __init__(self, name: str, settings: Settings, assistant: ParticipantInfo,
                 on_empty: Callable[[EmbeddedRoom], Awaitable[None]], *, clock: Clock = time.monotonic) -> None:
        super().__init__(name)
        self.clock = clock  # peers' connect and silence timeouts read it (tests move it by hand)
        self._settings = settings
        self._on_empty = on_empty
        self._sessions: dict[str, PeerSession] = {}
        self.assistant = assistant
        self.audio_output = EmbeddedVoiceOutput(self)
        self._configuration = RTCConfiguration(iceServers=[
            RTCIceServer(urls=s.urls, username=s.username, credential=s.credential) for s in settings.ice_servers])
        self._closed = False
        self._watchdog = asyncio.create_task(self._watch(), name=f"room-watchdog-{name}")

    @property
    def participants(self) -> list[ParticipantInfo]:
        return [self.assistant] + [s.info for s in self._sessions.values() if s.present]

    @property
    def sessions(self) -> list[PeerSession]:
        return list(self._sessions.values())

    # --- joining ---------------------------------------------------------------------------------

    async def join(self, name: str, offer_sdp: str) -> Joined:
        """`offer_sdp` has passed check_offer (EmbeddedRoomServer.join)."""
        session = PeerSession(self, self._reserve(name), self._configuration)
        self._sessions[session.info.id] = session
        try:
            answer = await session.answer(offer_sdp)
        except Exception as exc:  # noqa: BLE001 - aiortc raises all sorts on an offer it cannot use
            await self.drop(session, "failed")
            raise InvalidOffer(f"the offer could not be applied ({type(exc).__name__}: {exc})") from None
        log.info("room %s: %s (%s) joined, connecting", self.room, session.info.name, session.info.id)
        return Joined(session.info, answer)

    def _reserve(self, name: str) -> ParticipantInfo:
        """Checks and claims a seat before anything awaits, so concurrent joins cannot overfill."""
        if len(self._sessions) >= self._settings.max_participants:
            raise RoomFull(f"room '{self.room}' is full ({self._settings.max_participants} people)")
        taken = {s.info.name.casefold() for s in self._sessions.values()}
        if name.casefold() in taken | {self.assistant.name.casefold()}:
            raise NameTaken(f"the name '{name}' is already in use in room '{self.room}'; pick another")
        color = free_color(s.info.color for s in self._sessions.values())
        return ParticipantInfo(id=uuid.uuid4().hex[:12], name=name, color=color)

    async def announce(self, session: PeerSession) -> None:
        """The peer's data channel is open: welcome it, tell the others, start its captions."""
        if session.closed or session.present:
            return
        session.present = True
        session.last_seen = self.clock()
        session.send(Welcome(room=self.room, you=session.info.id, participants=self.participants).model_dump_json())
        await self._broadcast(ParticipantJoined(participant=session.info).model_dump_json(), skip=session)
        if self.listener:
            await self.listener.participant_joined(session.info)
            await self.listener.audio_track(session.info, session.audio)

    # --- leaving ---------------------------------------------------------------------------------

    async def drop(self, session: PeerSession, reason: Literal["left", "timeout", "failed"]) -> None:
        """Remove a peer for good (idempotent): close its connection and tell the room."""
        if self._sessions.get(session.info.id) is not session:
            return
        del self._sessions[session.info.id]
        for other in self._sessions.values():
            other.outbound.remove(session.info.id)
        await session.close()
        if session.present:
            log.info("room %s: %s left (%s)", self.room, session.info.name, reason)
            await self._broadcast(ParticipantLeft(participant_id=session.info.id, reason=reason).model_dump_json())
            if self.listener:
                await self.listener.participant_left(session.info)
        if not self._sessions:
            await self._on_empty(self)

    async def _watch(self) -> None:
        connect_timeout, peer_timeout = self._settings.connect_timeout_s, self._settings.peer_timeout_s
        while not self._closed:
            await asyncio.sleep(WATCHDOG_INTERVAL_S)
            now = self.clock()
            for session in self.sessions:
                if not session.present and now - session.created > connect_timeout:
                    await self.drop(session, "failed")
                elif session.present and now - session.last_seen > peer_timeout:
                    await self.drop(session, "timeout")

    async def aclose(self) -> None:
        self._closed = True
        if self._watchdog is not asyncio.current_task():  # the watchdog may be what emptied the room
            self._watchdog.cancel()
        await self.audio_output.aclose()
        for session in self.sessions:
            self._sessions.pop(session.info.id, None)
            await session.close()

    # --- media and messages -------------------------------------------------------------------

    def mix_from(self, source: PeerSession, samples: np.ndarray) -> None:
        for session in self._sessions.values():
            if session is not source and session.present:
                session.outbound.push(source.info.id, samples)

    async def client_message(self, session: PeerSession, message: ClientMessage) -> None:
        if isinstance(message, SetMuted) and session.info.muted != message.muted:
            session.info.muted = message.muted
            await self._broadcast(ParticipantUpdated(participant=session.info).model_dump_json())
        elif isinstance(message, Leave):
            await self.drop(session, "left")

    async def _send_impl(self, payload: str, to: str | None) -> None:
        if to is None:
            await self._broadcast(payload)
        elif (session := self._sessions.get(to)) is not None:
            session.send(payload)

    async def _broadcast(self, payload: str, *, skip: PeerSession | None = None) -> None:
        for session in self._sessions.values():
            if session is not skip and session.present:
                session.send(payload)


class EmbeddedRoomServer:
    """Every embedded room of this process; the API's signalling endpoint calls `join`."""

    def __init__(self, settings: Settings, agent_factory: AgentFactory, *, clock: Clock = time.monotonic) -> None:
        self._settings = settings
        self._clock = clock
        self._agent_factory = agent_factory
        self._rooms: dict[str, EmbeddedRoom] = {}
        self._agents: dict[str, RoomAgentHandle] = {}
        self.assistant = ParticipantInfo(id=ASSISTANT_ID, name=settings.assistant_name, kind="agent")
        if settings.webrtc_loopback_only:
            use_loopback_candidates_only()

    def room(self, name: str) -> EmbeddedRoom | None:
        return self._rooms.get(name)

    def participants(self, room: str) -> list[ParticipantInfo]:
        """Who is in `room`; the assistant is in every room, even one nobody opened yet."""
        current = self._rooms.get(room)
        return current.participants if current else [self.assistant]

    async def join(self, room: str, name: str, offer_sdp: str) -> Joined:
        """Raises InvalidOffer (bad SDP) or JoinRefused (full, name taken)."""
        check_offer(offer_sdp)  # before a room is created for nothing
        if room not in self._rooms:
            self._rooms[room] = EmbeddedRoom(room, self._settings, self.assistant, self._room_empty,
                                             clock=self._clock)
            self._agents[room] = self._agent_factory(self._rooms[room])
        target = self._rooms[room]
        try:
            return await target.join(name, offer_sdp)
        except JoinRefused:
            if not target.sessions:
                await self._room_empty(target)
            raise

    async def _room_empty(self, room: EmbeddedRoom) -> None:
        if self._rooms.get(room.room) is room:
            del self._rooms[room.room]
            await room.aclose()
            await self._agents.pop(room.room).aclose()
            log.info("room %s closed", room.room)

    async def aclose(self) -> None:
        for name in list(self._rooms):
            room = self._rooms.pop(name)
            await room.aclose()
            await self._agents.pop(name).aclose()
