"""What the agent needs from storage, and nothing more: the composition hands it the store
(any `parley.store.Store` satisfies both), so the agent never depends on the API or an engine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from parley.store import Actor
from parley.store.records import Memory, MemoryHit, NewMemory, NewSegment, Participant, RoomMember, Segment, Session


class TranscriptSink(Protocol):
    """Where a room's sessions, participants and final captions are kept (SegmentWriter)."""

    async def start_session(self, actor: Actor, room: str, started_at: datetime | None = None) -> Session: ...

    async def end_session(self, actor: Actor, session_id: str, ended_at: datetime | None = None) -> Session: ...

    async def add_participant(self, actor: Actor, session_id: str, identity: str, display_name: str,
                              user_id: str | None = None) -> Participant: ...

    async def append_segments(self, actor: Actor, session_id: str, segments: Sequence[NewSegment]) -> list[Segment]: ...


class MemoryStore(Protocol):
    """What the assistant remembers: recall during a session, titles and facts after it (RoomMemory)."""

    async def list_members(self, actor: Actor, room: str) -> list[RoomMember]: ...

    async def list_segments(self, actor: Actor, session_id: str, *, after_seq: int = 0,
                            limit: int = 10_000) -> list[Segment]: ...

    async def describe_session(self, actor: Actor, session_id: str, title: str | None,
                               summary: str | None) -> Session: ...

    async def add_memory(self, actor: Actor, memory: NewMemory, embedding: Sequence[float], *,
                         owner_id: str | None = None) -> Memory: ...

    async def search_memories(self, actor: Actor, embedding: Sequence[float], *, limit: int = 10,
                              owner_ids: Sequence[str] | None = None) -> list[MemoryHit]: ...


class RoomStore(TranscriptSink, MemoryStore, Protocol):
    """Both: what a kept room (transcript and memory) is built on."""
