"""Sessions, participants and segments: written by the agent, read by the room's members."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from parley.store import SERVICE, Forbidden, NotFound
from parley.store.records import NewSegment

from .conftest import new_user, room_name, session_with_transcript


def seg(text: str, seq: int | None = None, start: float = 0.0) -> NewSegment:
    return NewSegment(seq=seq, speaker="Ann", start=start, end=start + 1, text=text)


async def test_segments_get_ordered_sequence_numbers(store):
    ann = await new_user(store, "ann")
    room, session, stored = await session_with_transcript(store, ann, ["one", "two"])
    assert [(s.seq, s.text, s.emotion) for s in stored] == [(1, "one", "neutral"), (2, "two", "neutral")]
    more = await store.append_segments(SERVICE, session.id, [seg("three"), seg("four")])
    assert [s.seq for s in more] == [3, 4]
    listed = await store.list_segments(ann, session.id)
    assert [(s.seq, s.text) for s in listed] == [(1, "one"), (2, "two"), (3, "three"), (4, "four")]
    assert [s.seq for s in await store.list_segments(ann, session.id, after_seq=2, limit=1)] == [3]
    assert (await store.get_session(ann, session.id)).last_seq == 4
    assert listed[0].participant_id is not None and listed[0].start == 0.0 and listed[0].end == 1.5


async def test_a_retried_write_with_the_same_seq_is_not_duplicated(store):
    ann = await new_user(store, "ann")
    _, session, _ = await session_with_transcript(store, ann, [])
    first = await store.append_segments(SERVICE, session.id, [seg("a", 1), seg("b", 2)])
    retried = await store.append_segments(SERVICE, session.id, [seg("b again", 2), seg("c", 3)])
    assert retried[0] == first[1]
    assert [s.text for s in await store.list_segments(ann, session.id)] == ["a", "b", "c"]
    assert [s.seq for s in await store.append_segments(SERVICE, session.id, [seg("d")])] == [4]


async def test_concurrent_writers_never_share_a_seq(store):
    ann = await new_user(store, "ann")
    _, session, _ = await session_with_transcript(store, ann, [])
    await asyncio.gather(*(store.append_segments(SERVICE, session.id, [seg(f"s{i}")]) for i in range(12)))
    assert [s.seq for s in await store.list_segments(ann, session.id)] == list(range(1, 13))


async def test_only_the_service_writes_transcripts(store):
    ann = await new_user(store, "ann")
    room, session, _ = await session_with_transcript(store, ann)
    with pytest.raises(Forbidden):
        await store.start_session(ann, room.name)
    with pytest.raises(Forbidden):
        await store.append_segments(ann, session.id, [seg("forged")])
    with pytest.raises(Forbidden):
        await store.add_participant(ann, session.id, "x", "X")
    with pytest.raises(Forbidden):
        await store.end_session(ann, session.id)


async def test_a_segment_must_name_a_participant_of_its_session(store):
    ann = await new_user(store, "ann")
    _, one, _ = await session_with_transcript(store, ann)
    _, other, _ = await session_with_transcript(store, ann)
    theirs = (await store.list_participants(ann, other.id))[0]
    with pytest.raises(NotFound, match="no participant"):
        await store.append_segments(SERVICE, one.id, [NewSegment(participant_id=theirs.id, speaker="X", start=0,
                                                                  end=1, text="x")])
    with pytest.raises(ValueError, match="cannot end before"):
        NewSegment(speaker="X", start=2, end=1, text="x")


async def test_members_read_sessions_and_outsiders_cannot(store):
    ann, bob = await new_user(store, "ann"), await new_user(store, "bob")
    room, session, _ = await session_with_transcript(store, ann)
    for read in (store.get_session, store.list_segments, store.list_participants):
        with pytest.raises(NotFound, match="no session"):
            await read(bob, session.id)
    assert await store.list_sessions(bob) == []
    assert await store.list_sessions(bob, room.name) == []
    await store.add_member(ann, room.name, (await store.get_user(bob.user_id)).email)
    assert [s.id for s in await store.list_sessions(bob)] == [session.id]
    assert [p.display_name for p in await store.list_participants(bob, session.id)] == ["Ann"]
    with pytest.raises(Forbidden):
        await store.describe_session(bob, session.id, "Mine", None)
    with pytest.raises(Forbidden):
        await store.delete_session(bob, session.id)


async def test_sessions_are_listed_newest_first_per_room_and_paged(store):
    ann = await new_user(store, "ann")
    room = await store.create_room(ann, room_name(), "Daily")
    other = await store.create_room(ann, room_name(), "Other")
    base = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)
    made = [await store.start_session(SERVICE, room.name, base + timedelta(days=i)) for i in range(3)]
    await store.start_session(SERVICE, other.name, base)
    listed = await store.list_sessions(ann, room.name)
    assert [s.id for s in listed] == [m.id for m in reversed(made)]
    assert listed[0].started_at == base + timedelta(days=2) and listed[0].room_name == room.name
    page = await store.list_sessions(ann, room.name, limit=1, before=made[2].started_at)
    assert [s.id for s in page] == [made[1].id]
    naive = await store.list_sessions(ann, room.name, before=(base + timedelta(days=1)).replace(tzinfo=None))
    assert [s.id for s in naive] == [made[0].id]  # naive datetimes are UTC
    assert len(await store.list_sessions(ann)) == 4


async def test_ending_describing_and_deleting_a_session(store):
    ann = await new_user(store, "ann")
    _, session, _ = await session_with_transcript(store, ann)
    ended = await store.end_session(SERVICE, session.id)
    assert ended.ended_at is not None and ended.ended_at >= ended.started_at
    assert (await store.end_session(SERVICE, session.id)).ended_at == ended.ended_at  # first end wins
    described = await store.describe_session(SERVICE, session.id, "Planning", "We planned.")
    assert (described.title, described.summary) == ("Planning", "We planned.")
    assert (await store.describe_session(ann, session.id, "Renamed", None)).title == "Renamed"
    await store.delete_session(ann, session.id)
    with pytest.raises(NotFound):
        await store.get_session(ann, session.id)


async def test_a_rejoin_keeps_the_participant(store):
    ann = await new_user(store, "ann")
    _, session, _ = await session_with_transcript(store, ann)
    again = await store.add_participant(SERVICE, session.id, "ann-1", "Ann B.", ann.user_id)
    participants = await store.list_participants(ann, session.id)
    assert [(p.id, p.display_name) for p in participants] == [(again.id, "Ann B.")]


async def test_ids_that_are_not_uuids_are_simply_not_found(store):
    ann = await new_user(store, "ann")
    for call in (store.get_session(ann, "nope"), store.list_segments(ann, "1; DROP TABLE x"),
                 store.get_memory(ann, "../../etc"), store.delete_speaker(ann, "x" * 60)):
        with pytest.raises(NotFound):
            await call
    with pytest.raises(NotFound, match="no room"):
        await store.start_session(SERVICE, room_name())
