"""Memories with semantic search, and enrolled voices: one owner each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from parley.store import SERVICE, Forbidden, NotFound
from parley.store.records import NewMemory

from .conftest import new_user, session_with_transcript


def axis(i: int, dim: int = 8, tilt: float = 0.0) -> list[float]:
    """A unit vector near axis i; `tilt` leans it toward the next axis."""
    v = np.zeros(dim)
    v[i], v[(i + 1) % dim] = 1.0, tilt
    return (v / np.linalg.norm(v)).tolist()


async def test_memories_belong_to_their_owner(store):
    ann, bob = await new_user(store, "ann"), await new_user(store, "bob")
    memory = await store.add_memory(ann, NewMemory(text="Ann likes green tea", tags=["food"]), axis(0))
    assert (memory.owner_id, memory.text, memory.tags) == (ann.user_id, "Ann likes green tea", ["food"])
    assert await store.get_memory(ann, memory.id) == memory
    assert [m.id for m in await store.list_memories(ann)] == [memory.id]
    assert await store.list_memories(bob) == []
    for call in (store.get_memory(bob, memory.id), store.delete_memory(bob, memory.id),
                 store.update_memory(bob, memory.id, tags=["mine"])):
        with pytest.raises(NotFound):
            await call
    assert await store.search_memories(bob, axis(0)) == []
    with pytest.raises(Forbidden):
        await store.search_memories(bob, axis(0), owner_ids=[ann.user_id])
    with pytest.raises(Forbidden):
        await store.add_memory(bob, NewMemory(text="planted"), axis(0), owner_id=ann.user_id)


async def test_search_ranks_by_similarity_and_filters(store):
    ann = await new_user(store, "ann")
    near = await store.add_memory(ann, NewMemory(text="near", speaker="Ann", emotion="joy"), axis(0, tilt=0.1))
    far = await store.add_memory(ann, NewMemory(text="far", speaker="Bob", emotion="anger"), axis(3))
    mid = await store.add_memory(ann, NewMemory(text="mid", speaker="Bob", emotion="joy"), axis(0, tilt=1.0))
    await store.add_memory(ann, NewMemory(text="other model"), [1.0, 0.0, 0.0])  # another dimension: never ranked
    hits = await store.search_memories(ann, axis(0))
    assert [h.memory.id for h in hits] == [near.id, mid.id, far.id]
    assert hits[0].score == pytest.approx(0.995, abs=0.01) and hits[2].score == pytest.approx(0.0, abs=1e-5)
    assert [h.memory.id for h in await store.search_memories(ann, axis(0), limit=1)] == [near.id]
    assert [h.memory.id for h in await store.search_memories(ann, axis(0), speaker="bob")] == [mid.id, far.id]
    assert [h.memory.id for h in await store.search_memories(ann, axis(0), emotion="JOY")] == [near.id, mid.id]
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert await store.search_memories(ann, axis(0), since=later) == []
    assert len(await store.search_memories(ann, axis(0), until=later)) == 3
    assert await store.search_memories(ann, axis(0), until=near.created_at) == []


async def test_editing_a_memory_re_embeds_it(store):
    ann = await new_user(store, "ann")
    memory = await store.add_memory(ann, NewMemory(text="likes tea"), axis(0))
    with pytest.raises(ValueError, match="new embedding"):
        await store.update_memory(ann, memory.id, text="likes coffee")
    edited = await store.update_memory(ann, memory.id, text="likes coffee", tags=["drinks"], embedding=axis(5))
    assert (edited.text, edited.tags, edited.created_at) == ("likes coffee", ["drinks"], memory.created_at)
    assert edited.updated_at >= memory.updated_at
    assert (await store.search_memories(ann, axis(5)))[0].score == pytest.approx(1.0, abs=1e-5)
    await store.delete_memory(ann, memory.id)
    assert await store.list_memories(ann) == []


async def test_a_memory_cites_only_sessions_its_owner_could_hear(store):
    ann, bob = await new_user(store, "ann"), await new_user(store, "bob")
    _, session, segments = await session_with_transcript(store, ann)
    cited = await store.add_memory(ann, NewMemory(text="said hello", source_session_id=session.id,
                                                  source_segment_id=segments[0].id), axis(1))
    assert (cited.source_session_id, cited.source_segment_id) == (session.id, segments[0].id)
    with pytest.raises(NotFound):
        await store.add_memory(bob, NewMemory(text="stolen", source_session_id=session.id), axis(1))
    with pytest.raises(NotFound, match="no segment"):
        await store.add_memory(ann, NewMemory(text="no session given", source_segment_id=segments[0].id), axis(1))


async def test_the_service_writes_and_searches_memories_for_named_owners(store):
    ann, bob = await new_user(store, "ann"), await new_user(store, "bob")
    await store.add_memory(SERVICE, NewMemory(text="Ann's"), axis(2), owner_id=ann.user_id)
    await store.add_memory(SERVICE, NewMemory(text="Bob's"), axis(2, tilt=0.5), owner_id=bob.user_id)
    with pytest.raises(ValueError):
        await store.add_memory(SERVICE, NewMemory(text="nobody's"), axis(2))
    both = await store.search_memories(SERVICE, axis(2), owner_ids=[ann.user_id, bob.user_id])
    assert [h.memory.text for h in both] == ["Ann's", "Bob's"]
    assert [h.memory.text for h in await store.search_memories(SERVICE, axis(2), owner_ids=[bob.user_id])] == ["Bob's"]
    assert [h.memory.text for h in await store.search_memories(ann, axis(2))] == ["Ann's"]


async def test_bad_embeddings_are_refused(store):
    ann = await new_user(store, "ann")
    for bad in ([], [float("nan"), 1.0]):
        with pytest.raises(ValueError, match="embedding"):
            await store.add_memory(ann, NewMemory(text="x"), bad)


async def test_enrolled_voices_are_private_and_replaced_by_name(store):
    ann, bob = await new_user(store, "ann"), await new_user(store, "bob")
    first = await store.add_speaker(ann, "Ann", axis(0, dim=256))
    again = await store.add_speaker(ann, "Ann", axis(1, dim=256))
    assert again.id == first.id and again.embedding_dim == 256
    assert [s.name for s in await store.list_speakers(ann)] == ["Ann"]
    assert await store.list_speakers(bob) == []
    with pytest.raises(NotFound):
        await store.delete_speaker(bob, first.id)
    with pytest.raises(Forbidden):
        await store.voiceprints(ann, [ann.user_id])
    prints = await store.voiceprints(SERVICE, [ann.user_id, bob.user_id])
    assert [(p.owner_id, p.name) for p in prints] == [(ann.user_id, "Ann")]
    assert np.allclose(prints[0].embedding, axis(1, dim=256), atol=1e-6)
    await store.delete_speaker(ann, first.id)
    assert await store.list_speakers(ann) == []
