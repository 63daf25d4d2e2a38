"""Rows as the store hands them out: ids as strings, times as UTC-aware datetimes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json_list(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


Id = Annotated[str, BeforeValidator(lambda v: str(v) if v is not None else v)]  # Postgres gives uuid.UUID
Utc = Annotated[datetime, AfterValidator(_utc)]
Tags = Annotated[list[str], BeforeValidator(_json_list)]  # SQLite keeps JSON text, Postgres jsonb
Role = Literal["owner", "member"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class User(Record):
    id: Id
    email: str
    display_name: str
    is_admin: bool = False
    must_change_password: bool = False
    created_at: Utc


class Credentials(User):
    """A user with their password hash: only the login path ever reads this."""

    password_hash: str | None = None


class ApiKey(Record):
    id: Id
    user_id: Id
    name: str
    prefix: str
    scopes: Tags
    created_at: Utc
    expires_at: Utc | None = None
    last_used_at: Utc | None = None
    revoked_at: Utc | None = None


class StoredApiKey(ApiKey):
    key_hash: str


class RefreshToken(Record):
    id: Id
    user_id: Id
    family_id: Id
    created_at: Utc
    expires_at: Utc
    used_at: Utc | None = None
    revoked_at: Utc | None = None


class Room(Record):
    id: Id
    name: str
    title: str
    owner_id: Id
    private: bool
    created_at: Utc
    role: Role | None = Field(None, description="The acting user's role; None when they are not a member.")


class RoomMember(Record):
    room_id: Id
    user_id: Id
    email: str
    display_name: str
    role: Role
    added_at: Utc


class Session(Record):
    id: Id
    room_id: Id
    room_name: str
    started_at: Utc
    ended_at: Utc | None = None
    title: str | None = None
    summary: str | None = None
    last_seq: int = Field(0, description="Sequence number of the newest segment.")


class Participant(Record):
    id: Id
    session_id: Id
    identity: str
    display_name: str
    user_id: Id | None = None
    joined_at: Utc


class NewSegment(BaseModel):
    """A finalized caption. `seq` is the writer's retry key: a segment whose seq is already
    stored is skipped, so a buffered writer may resend after a timeout without duplicates.
    Without seq the store appends after the last one."""

    seq: int | None = Field(None, ge=1)
    participant_id: str | None = None
    speaker: str
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    text: str
    emotion: str | None = None
    emotion_score: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> NewSegment:
        if self.end < self.start:
            raise ValueError("a segment cannot end before it starts")
        return self


class Segment(Record):
    id: Id
    session_id: Id
    seq: int
    participant_id: Id | None = None
    speaker: str
    start: float
    end: float
    text: str
    emotion: str | None = None
    emotion_score: float | None = None
    created_at: Utc


class NewMemory(BaseModel):
    text: str
    tags: list[str] = Field(default_factory=list)
    speaker: str | None = None
    emotion: str | None = None
    source_session_id: str | None = None
    source_segment_id: str | None = None


class Memory(Record):
    id: Id
    owner_id: Id
    text: str
    tags: Tags
    speaker: str | None = None
    emotion: str | None = None
    source_session_id: Id | None = None
    source_segment_id: Id | None = None
    created_at: Utc
    updated_at: Utc


class MemoryHit(Record):
    memory: Memory
    score: float = Field(description="Cosine similarity to the query, -1..1.")


class Speaker(Record):
    id: Id
    owner_id: Id
    name: str
    embedding_dim: int
    created_at: Utc


class VoicePrint(Record):
    """An enrolled voice for the agent's labelling: whose it is, the name, the vector."""

    speaker_id: Id
    owner_id: Id
    name: str
    embedding: list[float]
