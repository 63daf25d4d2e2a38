"""Session history, transcripts and exports: readable by the room's members."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from ..deps import AccountsDep, SessionsRead, SessionsWrite
from ..schemas import ROOM_PATTERN
from parley.store.records import Participant, Segment, Session
from ..transcript_export import MEDIA_TYPES, ExportFormat, export

router = APIRouter(prefix="/api/sessions", tags=["sessions"])
SessionId = Annotated[str, Path(max_length=64)]


class Transcript(BaseModel):
    session: Session
    participants: list[Participant]
    segments: list[Segment]


class SessionEdit(BaseModel):
    title: str | None = Field(None, max_length=200)
    summary: str | None = Field(None, max_length=20_000)


@router.get("", response_model=list[Session])
async def history(principal: SessionsRead, accounts: AccountsDep,
                  room: Annotated[str | None, Query(pattern=ROOM_PATTERN)] = None,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50,
                  before: Annotated[datetime | None, Query(description="Page: sessions started before this.")] = None,
                  ) -> list[Session]:
    """Sessions of your rooms, newest first."""
    return await accounts.store.list_sessions(principal.actor, room, limit=limit, before=before)


@router.get("/{session_id}", response_model=Session)
async def session(session_id: SessionId, principal: SessionsRead, accounts: AccountsDep) -> Session:
    return await accounts.store.get_session(principal.actor, session_id)


@router.get("/{session_id}/transcript", response_model=Transcript)
async def transcript(session_id: SessionId, principal: SessionsRead, accounts: AccountsDep,
                     after_seq: Annotated[int, Query(ge=0, description="Only segments after this one.")] = 0,
                     limit: Annotated[int, Query(ge=1, le=10_000)] = 10_000) -> Transcript:
    """Speakers, times (seconds from the session's start), text and emotion, in order."""
    store, actor = accounts.store, principal.actor
    return Transcript(session=await store.get_session(actor, session_id),
                      participants=await store.list_participants(actor, session_id),
                      segments=await store.list_segments(actor, session_id, after_seq=after_seq, limit=limit))


@router.get("/{session_id}/export", response_class=Response,
            responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}, "description": "The transcript file"}})
async def export_transcript(session_id: SessionId, principal: SessionsRead, accounts: AccountsDep,
                            format: Annotated[ExportFormat, Query()] = "json") -> Response:  # noqa: A002 - the API's name
    store, actor = accounts.store, principal.actor
    found = await store.get_session(actor, session_id)
    body = export(format, found, await store.list_participants(actor, session_id),
                  await store.list_segments(actor, session_id))
    filename = f"{found.room_name}-{found.started_at:%Y%m%d-%H%M}.{format}"
    return Response(body, media_type=f"{MEDIA_TYPES[format]}; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.patch("/{session_id}", response_model=Session)
async def edit(session_id: SessionId, body: SessionEdit, principal: SessionsWrite, accounts: AccountsDep) -> Session:
    """The room's owner sets the title and summary (the assistant writes them after a session)."""
    current = await accounts.store.get_session(principal.actor, session_id)
    fields = body.model_dump(exclude_unset=True)
    return await accounts.store.describe_session(principal.actor, session_id, fields.get("title", current.title),
                                                 fields.get("summary", current.summary))


@router.delete("/{session_id}", status_code=204)
async def delete(session_id: SessionId, principal: SessionsWrite, accounts: AccountsDep) -> Response:
    """The room's owner deletes a session and its transcript."""
    await accounts.store.delete_session(principal.actor, session_id)
    return Response(status_code=204)
