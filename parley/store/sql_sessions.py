"""Sessions, participants and transcript segments in SQL. Readable by the room's members;
written by the agent (SERVICE), whose buffered writer retries with the same seq."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from .base import Actor
from .db import Tx
from .errors import Forbidden, NotFound
from .records import NewSegment, Participant, Segment, Session, utcnow
from .sql_base import SqlBase, checked_id, new_id

_SESSION = ("SELECT s.id, s.room_id, r.name AS room_name, s.started_at, s.ended_at, s.title, s.summary, s.last_seq, "
            "m.role FROM sessions s JOIN rooms r ON r.id = s.room_id "
            "LEFT JOIN room_members m ON m.room_id = s.room_id AND m.user_id = :uid")
_PARTICIPANT = "id, session_id, identity, display_name, user_id, joined_at"
_SEGMENT = ('id, session_id, seq, participant_id, speaker, start_s AS "start", end_s AS "end", text, emotion, '
            "emotion_score, created_at")


class SessionQueries(SqlBase):
    async def _session(self, tx: Tx, actor: Actor, session_id: str) -> tuple[Session, str | None]:
        """The session and the actor's role in its room."""
        row = await tx.one(_SESSION + " WHERE s.id = :id",
                           {"uid": self._uid(actor), "id": checked_id(session_id, "session")})
        if row is None or not (actor.is_service or row["role"]):
            raise NotFound(f"no session with id {session_id!r}")
        return Session.model_validate(row), row["role"]

    async def start_session(self, actor: Actor, room: str, started_at: datetime | None = None) -> Session:
        self._require_service(actor, "starts sessions")
        async with self.db.transaction() as tx:
            found = await tx.one("SELECT id FROM rooms WHERE name = :name", {"name": room})
            if found is None:
                raise NotFound(f"no room named {room!r}")
            session_id = new_id()
            await tx.run("INSERT INTO sessions (id, room_id, started_at) VALUES (:id, :room, :at)",
                         {"id": session_id, "room": found["id"], "at": started_at or utcnow()})
            return (await self._session(tx, actor, session_id))[0]

    async def end_session(self, actor: Actor, session_id: str, ended_at: datetime | None = None) -> Session:
        session_id = checked_id(session_id, "session")
        self._require_service(actor, "ends sessions")
        async with self.db.transaction() as tx:
            await self._session(tx, actor, session_id)
            await tx.run("UPDATE sessions SET ended_at = :at WHERE id = :id AND ended_at IS NULL",
                         {"id": session_id, "at": ended_at or utcnow()})
            return (await self._session(tx, actor, session_id))[0]

    async def describe_session(self, actor: Actor, session_id: str, title: str | None, summary: str | None) -> Session:
        session_id = checked_id(session_id, "session")
        async with self.db.transaction() as tx:
            _, role = await self._session(tx, actor, session_id)
            if not actor.is_service and role != "owner":
                raise Forbidden("only the room's owner may retitle its sessions")
            await tx.run("UPDATE sessions SET title = :title, summary = :summary WHERE id = :id",
                         {"id": session_id, "title": title, "summary": summary})
            return (await self._session(tx, actor, session_id))[0]

    async def list_sessions(self, actor: Actor, room: str | None = None, *, limit: int = 50,
                            before: datetime | None = None) -> list[Session]:
        clauses = ["(:service OR m.role IS NOT NULL)"]
        if room is not None:
            clauses.append("r.name = :room")
        if before is not None:
            clauses.append("s.started_at < :before")
        sql = f"{_SESSION} WHERE {' AND '.join(clauses)} ORDER BY s.started_at DESC, s.id LIMIT :limit"
        async with self.db.transaction() as tx:
            rows = await tx.all(sql, {"uid": self._uid(actor), "service": actor.is_service, "room": room,
                                      "before": before, "limit": limit})
        return [Session.model_validate(row) for row in rows]

    async def get_session(self, actor: Actor, session_id: str) -> Session:
        session_id = checked_id(session_id, "session")
        async with self.db.transaction() as tx:
            return (await self._session(tx, actor, session_id))[0]

    async def delete_session(self, actor: Actor, session_id: str) -> None:
        session_id = checked_id(session_id, "session")
        async with self.db.transaction() as tx:
            _, role = await self._session(tx, actor, session_id)
            if not actor.is_service and role != "owner":
                raise Forbidden("only the room's owner may delete its sessions")
            await tx.run("DELETE FROM sessions WHERE id = :id", {"id": session_id})

    async def add_participant(self, actor: Actor, session_id: str, identity: str, display_name: str,
                              user_id: str | None = None) -> Participant:
        session_id = checked_id(session_id, "session")
        self._require_service(actor, "records participants")
        params = {"id": new_id(), "session": session_id, "identity": identity, "name": display_name,
                  "user": checked_id(user_id, "user") if user_id else None, "now": utcnow()}
        async with self.db.transaction() as tx:
            await self._session(tx, actor, session_id)
            row = await tx.one(
                "INSERT INTO participants (id, session_id, identity, display_name, user_id, joined_at) "
                "VALUES (:id, :session, :identity, :name, :user, :now) ON CONFLICT (session_id, identity) "
                f"DO UPDATE SET display_name = excluded.display_name RETURNING {_PARTICIPANT}", params)
        return Participant.model_validate(row)

    async def list_participants(self, actor: Actor, session_id: str) -> list[Participant]:
        session_id = checked_id(session_id, "session")
        async with self.db.transaction() as tx:
            await self._session(tx, actor, session_id)
            rows = await tx.all(f"SELECT {_PARTICIPANT} FROM participants WHERE session_id = :id ORDER BY joined_at, "
                                "identity", {"id": session_id})
        return [Participant.model_validate(row) for row in rows]

    async def append_segments(self, actor: Actor, session_id: str, segments: Sequence[NewSegment]) -> list[Segment]:
        session_id = checked_id(session_id, "session")
        self._require_service(actor, "writes transcripts")
        stored: list[Segment] = []
        async with self.db.transaction() as tx:
            await self._session(tx, actor, session_id)
            for segment in segments:
                stored.append(await self._append(tx, session_id, segment))
        return stored

    async def _append(self, tx: Tx, session_id: str, segment: NewSegment) -> Segment:
        if segment.participant_id is not None and not await tx.one(
                "SELECT 1 AS ok FROM participants WHERE id = :id AND session_id = :session",
                {"id": checked_id(segment.participant_id, "participant"), "session": session_id}):
            raise NotFound(f"no participant with id {segment.participant_id!r} in this session")
        if segment.seq is None:
            seq = (await tx.one("UPDATE sessions SET last_seq = last_seq + 1 WHERE id = :id RETURNING last_seq",
                                {"id": session_id}))["last_seq"]
        else:
            seq = segment.seq
            existing = await tx.one(f"SELECT {_SEGMENT} FROM segments WHERE session_id = :session AND seq = :seq",
                                    {"session": session_id, "seq": seq})
            if existing:  # a retried write: keep what was stored first
                return Segment.model_validate(existing)
            await tx.run("UPDATE sessions SET last_seq = CASE WHEN last_seq < :seq THEN :seq ELSE last_seq END "
                         "WHERE id = :id", {"id": session_id, "seq": seq})
        row = await tx.one(
            "INSERT INTO segments (id, session_id, seq, participant_id, speaker, start_s, end_s, text, emotion, "
            "emotion_score, created_at) VALUES (:id, :session, :seq, :participant, :speaker, :start, :end, :text, "
            f":emotion, :score, :now) RETURNING {_SEGMENT}",
            {"id": new_id(), "session": session_id, "seq": seq, "participant": segment.participant_id,
             "speaker": segment.speaker, "start": segment.start, "end": segment.end, "text": segment.text,
             "emotion": segment.emotion, "score": segment.emotion_score, "now": utcnow()})
        return Segment.model_validate(row)

    async def list_segments(self, actor: Actor, session_id: str, *, after_seq: int = 0,
                            limit: int = 10_000) -> list[Segment]:
        session_id = checked_id(session_id, "session")
        async with self.db.transaction() as tx:
            await self._session(tx, actor, session_id)
            rows = await tx.all(f"SELECT {_SEGMENT} FROM segments WHERE session_id = :id AND seq > :after "
                                "ORDER BY seq LIMIT :limit", {"id": session_id, "after": after_seq, "limit": limit})
        return [Segment.model_validate(row) for row in rows]
