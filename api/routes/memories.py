"""Memories: what the assistant remembers for you. CRUD, and semantic search with filters.
Texts are embedded by the inference server (or any TextEmbedder)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from inference_server.client import InferenceError

from ..auth.context import AccountServices
from ..deps import AccountsDep, MemoriesRead, MemoriesWrite
from ..errors import HeaderProblem
from parley.store.records import Memory, MemoryHit, NewMemory

router = APIRouter(prefix="/api/memories", tags=["memories"])
MemoryId = Annotated[str, Path(max_length=64)]
MemoryText = Annotated[str, Field(min_length=1, max_length=2000)]
Tags = Annotated[list[Annotated[str, Field(min_length=1, max_length=40)]], Field(max_length=20)]


class MemoryIn(BaseModel):
    text: MemoryText
    tags: Tags = Field(default_factory=list)
    speaker: str | None = Field(None, max_length=80, description="Who said it, as captions label them.")
    emotion: str | None = Field(None, max_length=40)
    source_session_id: str | None = Field(None, max_length=64)
    source_segment_id: str | None = Field(None, max_length=64)


class MemoryEdit(BaseModel):
    text: MemoryText | None = None
    tags: Tags | None = None


async def embed(accounts: AccountServices, text: str) -> list[float]:
    try:
        return (await accounts.embedder.embed([text]))[0]
    except InferenceError as exc:
        raise HeaderProblem(503, f"cannot embed the text right now: {exc}", "inference_unavailable",
                            {"Retry-After": "5"}) from None


@router.get("", response_model=list[Memory])
async def list_memories(principal: MemoriesRead, accounts: AccountsDep,
                        limit: Annotated[int, Query(ge=1, le=500)] = 100,
                        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> list[Memory]:
    """Newest first."""
    return await accounts.store.list_memories(principal.actor, limit=limit, offset=offset)


@router.post("", response_model=Memory, status_code=201)
async def add_memory(body: MemoryIn, principal: MemoriesWrite, accounts: AccountsDep) -> Memory:
    return await accounts.store.add_memory(principal.actor, NewMemory(**body.model_dump()),
                                           await embed(accounts, body.text))


@router.get("/search", response_model=list[MemoryHit])
async def search(principal: MemoriesRead, accounts: AccountsDep,
                 q: Annotated[str, Query(min_length=1, max_length=500, description="What to look for, in words.")],
                 limit: Annotated[int, Query(ge=1, le=100)] = 10,
                 speaker: Annotated[str | None, Query(max_length=80)] = None,
                 emotion: Annotated[str | None, Query(max_length=40)] = None,
                 since: Annotated[datetime | None, Query(description="Created at or after (ISO 8601, UTC).")] = None,
                 until: Annotated[datetime | None, Query(description="Created before (ISO 8601, UTC).")] = None,
                 ) -> list[MemoryHit]:
    """Your memories most similar in meaning to `q`, best first, with their cosine similarity."""
    return await accounts.store.search_memories(principal.actor, await embed(accounts, q), limit=limit,
                                                speaker=speaker, emotion=emotion, since=since, until=until)


@router.get("/{memory_id}", response_model=Memory)
async def get_memory(memory_id: MemoryId, principal: MemoriesRead, accounts: AccountsDep) -> Memory:
    return await accounts.store.get_memory(principal.actor, memory_id)


@router.patch("/{memory_id}", response_model=Memory)
async def edit_memory(memory_id: MemoryId, body: MemoryEdit, principal: MemoriesWrite, accounts: AccountsDep) -> Memory:
    await accounts.store.get_memory(principal.actor, memory_id)  # unknown ids: 404 before any embedding work
    embedding = await embed(accounts, body.text) if body.text is not None else None
    return await accounts.store.update_memory(principal.actor, memory_id, text=body.text, tags=body.tags,
                                              embedding=embedding)


@router.delete("/{memory_id}", status_code=204)
async def delete_memory(memory_id: MemoryId, principal: MemoriesWrite, accounts: AccountsDep) -> Response:
    await accounts.store.delete_memory(principal.actor, memory_id)
    return Response(status_code=204)
