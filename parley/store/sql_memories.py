"""Memories (with semantic search) and enrolled voices in SQL. Both belong to one owner only."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from .base import Actor
from .errors import Forbidden, NotFound
from .records import Memory, MemoryHit, NewMemory, Speaker, VoicePrint, utcnow
from .sql_base import checked_id, new_id
from .sql_sessions import SessionQueries
from .vectors import as_vector, cosine_rank, from_blob, pgvector_literal, to_blob

_MEMORY = ("m.id, m.owner_id, m.text, m.tags, m.speaker, m.emotion, m.source_session_id, m.source_segment_id, "
           "m.created_at, m.updated_at")
_SPEAKER = "id, owner_id, name, embedding_dim, created_at"


def _in(name: str, values: Sequence[str]) -> tuple[str, dict[str, str]]:
    """`:name0, :name1, …` and their parameters, for an IN list."""
    params = {f"{name}{i}": value for i, value in enumerate(values)}
    return ", ".join(f":{key}" for key in params) or "NULL", params


class MemoryQueries(SessionQueries):
    def _owner(self, actor: Actor, owner_id: str | None) -> str:
        if actor.is_service:
            if not owner_id:
                raise ValueError("the service must name the memory's owner")
            return checked_id(owner_id, "user")
        if owner_id not in (None, actor.user_id):
            raise Forbidden("memories can only be added for yourself")
        return actor.user_id

    async def add_memory(self, actor: Actor, memory: NewMemory, embedding: Sequence[float], *,
                         owner_id: str | None = None) -> Memory:
        owner = self._owner(actor, owner_id)
        vector = as_vector(embedding)
        now = utcnow()
        params = {"id": new_id(), "owner": owner, "text": memory.text, "tags": json.dumps(memory.tags),
                  "speaker": memory.speaker, "emotion": memory.emotion, "session": None, "segment": None,
                  "embedding": self.db.encode_embedding(vector), "dim": len(vector), "now": now}
        async with self.db.transaction() as tx:
            if memory.source_session_id:  # only from a session the owner was allowed to hear
                session, _ = await self._session(tx, Actor.for_user(owner), memory.source_session_id)
                params["session"] = session.id
            if memory.source_segment_id:
                params["segment"] = checked_id(memory.source_segment_id, "segment")
                if not params["session"] or not await tx.one(
                        "SELECT 1 AS ok FROM segments WHERE id = :segment AND session_id = :session", params):
                    raise NotFound(f"no segment with id {memory.source_segment_id!r} in the source session")
            await tx.run("INSERT INTO memories (id, owner_id, text, tags, speaker, emotion, source_session_id, "
                          "source_segment_id, embedding, embedding_dim, created_at, updated_at) VALUES (:id, :owner, "
                          ":text, :tags, :speaker, :emotion, :session, :segment, :embedding, :dim, :now, :now)", params)
            row = await tx.one(f"SELECT {_MEMORY} FROM memories m WHERE m.id = :id", params)
        return Memory.model_validate(row)

    async def get_memory(self, actor: Actor, memory_id: str) -> Memory:
        params = {"id": checked_id(memory_id, "memory"), "owner": self._user_id(actor)}
        async with self.db.transaction() as tx:
            row = await tx.one(f"SELECT {_MEMORY} FROM memories m WHERE m.id = :id AND m.owner_id = :owner", params)
        if row is None:
            raise NotFound(f"no memory with id {memory_id!r}")
        return Memory.model_validate(row)

    async def list_memories(self, actor: Actor, *, limit: int = 100, offset: int = 0) -> list[Memory]:
        async with self.db.transaction() as tx:
            rows = await tx.all(f"SELECT {_MEMORY} FROM memories m WHERE m.owner_id = :owner "
                                "ORDER BY m.created_at DESC, m.id LIMIT :limit OFFSET :offset",
                                {"owner": self._user_id(actor), "limit": limit, "offset": offset})
        return [Memory.model_validate(row) for row in rows]

    async def update_memory(self, actor: Actor, memory_id: str, *, text: str | None = None,
                            tags: Sequence[str] | None = None, embedding: Sequence[float] | None = None) -> Memory:
        if text is not None and embedding is None:
            raise ValueError("a memory's new text needs its new embedding")
        current = await self.get_memory(actor, memory_id)
        changes: dict[str, Any] = {"updated_at": utcnow()}
        if text is not None:
            vector = as_vector(embedding)
            changes |= {"text": text, "embedding": self.db.encode_embedding(vector), "embedding_dim": len(vector)}
        if tags is not None:
            changes["tags"] = json.dumps(list(tags))
        assignments = ", ".join(f"{column} = :{column}" for column in changes)
        async with self.db.transaction() as tx:
            await tx.run(f"UPDATE memories SET {assignments} WHERE id = :id AND owner_id = :owner",
                         {**changes, "id": current.id, "owner": current.owner_id})
        return await self.get_memory(actor, current.id)

    async def delete_memory(self, actor: Actor, memory_id: str) -> None:
        params = {"id": checked_id(memory_id, "memory"), "owner": self._user_id(actor)}
        async with self.db.transaction() as tx:
            if not await tx.run("DELETE FROM memories WHERE id = :id AND owner_id = :owner", params):
                raise NotFound(f"no memory with id {memory_id!r}")

    async def search_memories(self, actor: Actor, embedding: Sequence[float], *, limit: int = 10,
                              speaker: str | None = None, emotion: str | None = None,
                              since: datetime | None = None, until: datetime | None = None,
                              owner_ids: Sequence[str] | None = None) -> list[MemoryHit]:
        query = as_vector(embedding)
        if actor.is_service:
            owners, params = _in("owner", [checked_id(o, "user") for o in owner_ids or ()])
        else:
            if owner_ids is not None and set(owner_ids) != {actor.user_id}:
                raise Forbidden("you can only search your own memories")
            owners, params = ":owner0", {"owner0": actor.user_id}
        clauses = [f"m.owner_id IN ({owners})", "m.embedding_dim = :dim"]
        params |= {"dim": len(query), "limit": limit, "speaker": speaker, "emotion": emotion, "since": since,
                   "until": until}
        if speaker is not None:
            clauses.append("lower(m.speaker) = lower(:speaker)")
        if emotion is not None:
            clauses.append("lower(m.emotion) = lower(:emotion)")
        if since is not None:
            clauses.append("m.created_at >= :since")
        if until is not None:
            clauses.append("m.created_at < :until")
        where = " AND ".join(clauses)
        async with self.db.transaction() as tx:
            if self.db.native_vectors:  # pgvector: rank in the database
                params["q"] = pgvector_literal(query)
                rows = await tx.all(f"SELECT {_MEMORY}, 1 - (m.embedding <=> CAST(:q AS vector)) AS score "
                                    f"FROM memories m WHERE {where} ORDER BY m.embedding <=> CAST(:q AS vector), m.id "
                                    "LIMIT :limit", params)
                return [MemoryHit(memory=Memory.model_validate(r), score=float(r["score"])) for r in rows]
            rows = await tx.all(f"SELECT {_MEMORY}, m.embedding FROM memories m WHERE {where}", params)
        matrix = np.stack([from_blob(r["embedding"]) for r in rows]) if rows else np.zeros((0, len(query)))
        return [MemoryHit(memory=Memory.model_validate(rows[i]), score=score)
                for i, score in cosine_rank(query, matrix, limit)]

    # --- speaker enrollment --------------------------------------------------------------

    async def add_speaker(self, actor: Actor, name: str, embedding: Sequence[float]) -> Speaker:
        vector = as_vector(embedding)
        params = {"id": new_id(), "owner": self._user_id(actor), "name": name, "embedding": to_blob(vector),
                  "dim": len(vector), "now": utcnow()}
        async with self.db.transaction() as tx:
            row = await tx.one(
                "INSERT INTO speakers (id, owner_id, name, embedding, embedding_dim, created_at) VALUES (:id, :owner, "
                ":name, :embedding, :dim, :now) ON CONFLICT (owner_id, name) DO UPDATE SET embedding = "
                "excluded.embedding, embedding_dim = excluded.embedding_dim, created_at = excluded.created_at "
                f"RETURNING {_SPEAKER}", params)
        return Speaker.model_validate(row)

    async def list_speakers(self, actor: Actor) -> list[Speaker]:
        async with self.db.transaction() as tx:
            rows = await tx.all(f"SELECT {_SPEAKER} FROM speakers WHERE owner_id = :owner ORDER BY name",
                                {"owner": self._user_id(actor)})
        return [Speaker.model_validate(row) for row in rows]

    async def delete_speaker(self, actor: Actor, speaker_id: str) -> None:
        params = {"id": checked_id(speaker_id, "speaker"), "owner": self._user_id(actor)}
        async with self.db.transaction() as tx:
            if not await tx.run("DELETE FROM speakers WHERE id = :id AND owner_id = :owner", params):
                raise NotFound(f"no speaker with id {speaker_id!r}")

    async def voiceprints(self, actor: Actor, user_ids: Sequence[str]) -> list[VoicePrint]:
        self._require_service(actor, "reads voiceprints")
        owners, params = _in("owner", [checked_id(u, "user") for u in user_ids])
        async with self.db.transaction() as tx:
            rows = await tx.all(f"SELECT id, owner_id, name, embedding FROM speakers WHERE owner_id IN ({owners}) "
                                "ORDER BY owner_id, name", params)
        return [VoicePrint(speaker_id=r["id"], owner_id=r["owner_id"], name=r["name"],
                           embedding=from_blob(r["embedding"]).tolist()) for r in rows]
