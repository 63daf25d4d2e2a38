"""The one store interface. Every method that touches user data takes the acting `Actor` and
enforces ownership and room membership itself, so no caller can forget a check:

- rooms, their members, sessions, participants and segments: visible to the room's members;
- memories, speaker enrollments, API keys: visible to their owner only;
- transcript writes (sessions, participants, segments) come from the agent, acting as
  `SERVICE`; users read them.

A row the actor may not see raises `NotFound`, exactly as a row that does not exist.
The few methods without an actor serve authentication itself (before anyone is known).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from .records import (
    ApiKey,
    Credentials,
    Memory,
    MemoryHit,
    NewMemory,
    NewSegment,
    Participant,
    RefreshToken,
    Room,
    RoomMember,
    Segment,
    Session,
    Speaker,
    StoredApiKey,
    User,
    VoicePrint,
)


@dataclass(frozen=True)
class Actor:
    kind: Literal["user", "service"]
    user_id: str = ""

    @classmethod
    def for_user(cls, user_id: str) -> Actor:
        if not user_id:
            raise ValueError("a user actor needs a user id")
        return cls("user", user_id)

    @property
    def is_service(self) -> bool:
        return self.kind == "service"


SERVICE = Actor("service")  # the agent and background jobs: transcript writes, memory extraction


class Store(ABC):
    async def open(self) -> None:  # noqa: B027 - a backend with nothing to open need not override it
        """Connect and bring the schema up to date (idempotent)."""

    @abstractmethod
    async def close(self) -> None: ...

    # --- accounts (authentication: no actor yet) ------------------------------------------

    @abstractmethod
    async def create_user(self, email: str, display_name: str, password_hash: str | None, *, is_admin: bool = False,
                          must_change_password: bool = False, user_id: str | None = None) -> User:
        """Raises Conflict when the email is taken (emails compare case-insensitively)."""

    @abstractmethod
    async def ensure_user(self, user_id: str, email: str, display_name: str) -> User:
        """The profile row of an externally authenticated user (Supabase Auth), created on first sight."""

    @abstractmethod
    async def get_user(self, user_id: str) -> User | None: ...

    @abstractmethod
    async def get_credentials(self, email: str) -> Credentials | None: ...

    @abstractmethod
    async def count_users(self) -> int: ...

    @abstractmethod
    async def set_password(self, actor: Actor, password_hash: str) -> None:
        """The actor's own password; clears must_change_password."""

    @abstractmethod
    async def create_api_key(self, actor: Actor, name: str, prefix: str, key_hash: str, scopes: Sequence[str],
                             expires_at: datetime | None) -> ApiKey: ...

    @abstractmethod
    async def list_api_keys(self, actor: Actor) -> list[ApiKey]: ...

    @abstractmethod
    async def revoke_api_key(self, actor: Actor, key_id: str) -> ApiKey: ...

    @abstractmethod
    async def find_api_key(self, prefix: str) -> StoredApiKey | None:
        """Lookup by the key's public prefix, to check a presented key's hash."""

    @abstractmethod
    async def touch_api_key(self, key_id: str, at: datetime) -> None: ...

    @abstractmethod
    async def add_refresh_token(self, user_id: str, family_id: str, token_hash: str,
                                expires_at: datetime) -> RefreshToken: ...

    @abstractmethod
    async def claim_refresh_token(self, token_hash: str, now: datetime) -> RefreshToken | None:
        """Mark an unused, unrevoked, unexpired token used and return it; None if it is not
        claimable. Atomic: of two concurrent claims of one token, one wins."""

    @abstractmethod
    async def find_refresh_token(self, token_hash: str) -> RefreshToken | None: ...

    @abstractmethod
    async def revoke_refresh_family(self, family_id: str, now: datetime) -> None: ...

    @abstractmethod
    async def revoke_user_refresh_tokens(self, user_id: str, now: datetime) -> None: ...

    # --- rooms ---------------------------------------------------------------------------

    @abstractmethod
    async def create_room(self, actor: Actor, name: str, title: str, *, private: bool = True) -> Room:
        """The actor becomes its owner (and a member). Conflict when the name is taken."""

    @abstractmethod
    async def list_rooms(self, actor: Actor) -> list[Room]: ...

    @abstractmethod
    async def get_room(self, actor: Actor, name: str) -> Room:
        """A room the actor is a member of."""

    @abstractmethod
    async def joinable_room(self, actor: Actor, name: str) -> Room:
        """A room the actor may join: a member's room, or any public room."""

    @abstractmethod
    async def delete_room(self, actor: Actor, name: str) -> None:
        """Owner only; removes its sessions and transcripts too."""

    @abstractmethod
    async def add_member(self, actor: Actor, room: str, email: str) -> RoomMember:
        """Owner only; NotFound when no account has that email."""

    @abstractmethod
    async def remove_member(self, actor: Actor, room: str, user_id: str) -> None:
        """The owner removes anyone but themself; a member may remove themself (leave)."""

    @abstractmethod
    async def list_members(self, actor: Actor, room: str) -> list[RoomMember]: ...

    # --- sessions and transcripts --------------------------------------------------------

    @abstractmethod
    async def start_session(self, actor: Actor, room: str, started_at: datetime | None = None) -> Session: ...

    @abstractmethod
    async def end_session(self, actor: Actor, session_id: str, ended_at: datetime | None = None) -> Session: ...

    @abstractmethod
    async def describe_session(self, actor: Actor, session_id: str, title: str | None, summary: str | None) -> Session:
        """Title and summary: the service (LLM) or the room's owner."""

    @abstractmethod
    async def list_sessions(self, actor: Actor, room: str | None = None, *, limit: int = 50,
                            before: datetime | None = None) -> list[Session]:
        """Newest first, from every room the actor is a member of (or one room)."""

    @abstractmethod
    async def get_session(self, actor: Actor, session_id: str) -> Session: ...

    @abstractmethod
    async def delete_session(self, actor: Actor, session_id: str) -> None:
        """The room's owner only."""

    @abstractmethod
    async def add_participant(self, actor: Actor, session_id: str, identity: str, display_name: str,
                              user_id: str | None = None) -> Participant:
        """Idempotent per (session, identity): a rejoin returns the same participant."""

    @abstractmethod
    async def list_participants(self, actor: Actor, session_id: str) -> list[Participant]: ...

    @abstractmethod
    async def append_segments(self, actor: Actor, session_id: str, segments: Sequence[NewSegment]) -> list[Segment]:
        """Store finalized segments in order, in one transaction. Returns the stored rows
        (for an already stored seq: the row as first stored)."""

    @abstractmethod
    async def list_segments(self, actor: Actor, session_id: str, *, after_seq: int = 0,
                            limit: int = 10_000) -> list[Segment]: ...

    # --- memories ------------------------------------------------------------------------

    @abstractmethod
    async def add_memory(self, actor: Actor, memory: NewMemory, embedding: Sequence[float], *,
                         owner_id: str | None = None) -> Memory:
        """Owned by the actor; the service names the owner."""

    @abstractmethod
    async def get_memory(self, actor: Actor, memory_id: str) -> Memory: ...

    @abstractmethod
    async def list_memories(self, actor: Actor, *, limit: int = 100, offset: int = 0) -> list[Memory]: ...

    @abstractmethod
    async def update_memory(self, actor: Actor, memory_id: str, *, text: str | None = None,
                            tags: Sequence[str] | None = None, embedding: Sequence[float] | None = None) -> Memory:
        """A new text needs its new embedding."""

    @abstractmethod
    async def delete_memory(self, actor: Actor, memory_id: str) -> None: ...

    @abstractmethod
    async def search_memories(self, actor: Actor, embedding: Sequence[float], *, limit: int = 10,
                              speaker: str | None = None, emotion: str | None = None,
                              since: datetime | None = None, until: datetime | None = None,
                              owner_ids: Sequence[str] | None = None) -> list[MemoryHit]:
        """Most similar first. A user searches their own; the service searches `owner_ids`'."""

    # --- speaker enrollment --------------------------------------------------------------

    @abstractmethod
    async def add_speaker(self, actor: Actor, name: str, embedding: Sequence[float]) -> Speaker:
        """Enroll a voice; enrolling a name again replaces that voice."""

    @abstractmethod
    async def list_speakers(self, actor: Actor) -> list[Speaker]: ...

    @abstractmethod
    async def delete_speaker(self, actor: Actor, speaker_id: str) -> None: ...

    @abstractmethod
    async def voiceprints(self, actor: Actor, user_ids: Sequence[str]) -> list[VoicePrint]:
        """The service only: enrolled voices of the people in a room, for caption labels."""
