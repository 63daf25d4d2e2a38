"""A store call cancelled anywhere (before, during or after BEGIN, in a statement, in COMMIT)
leaves the store usable and writes all of its rows or none: a timeout or a client that went
away must never wedge the store for everyone else.

Two sweeps per engine: cancel after 0, 1, 2, … event-loop steps until the call finishes
first (which reaches every await point of a transaction), then hundreds of cancellations
at random sub-millisecond delays.
"""

from __future__ import annotations

import asyncio
import random
import uuid

import psycopg
import pytest

from parley.store import SERVICE, Store
from parley.store.postgres import PostgresStore
from parley.store.records import NewSegment

from .conftest import drop_schema, fresh_schema, new_user, room_name

SEGMENTS_PER_CALL = 4


@pytest.fixture(params=["sqlite", "postgres"])
def engine_store(request) -> Store:
    return request.getfixturevalue(f"{request.param}_store")


async def _cancel_after(call, wait) -> bool:
    """Run `call()`, await `wait()`, then cancel it; True if it had finished first."""
    task = asyncio.create_task(call())
    await wait()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        return False
    return True


async def _loop_steps(steps: int) -> None:
    for _ in range(steps):
        await asyncio.sleep(0)


async def _assert_usable(store: Store, email: str) -> None:
    """The next call works at once (no 'transaction within a transaction', no lock held)."""
    credentials = await asyncio.wait_for(store.get_credentials(email), timeout=10)
    assert credentials is not None and credentials.email == email


async def _cancellation_sweep(store: Store, call, email: str) -> tuple[int, int]:
    """(cancelled, finished) over a step sweep and random delays; the store is checked after each."""
    cancelled = finished = 0
    steps, finished_in_a_row = 0, 0
    while finished_in_a_row < 5:  # past the last await point
        done = await _cancel_after(call, lambda: _loop_steps(steps))
        finished_in_a_row = finished_in_a_row + 1 if done else 0
        cancelled, finished = cancelled + (not done), finished + done
        await _assert_usable(store, email)
        steps += 1
    rng = random.Random(9)
    for _ in range(300):
        done = await _cancel_after(call, lambda: asyncio.sleep(rng.uniform(0, 0.001)))
        cancelled, finished = cancelled + (not done), finished + done
        await _assert_usable(store, email)
    return cancelled, finished


async def test_a_cancelled_read_never_wedges_the_store(engine_store):
    user = await engine_store.create_user(f"{room_name()}@example.test", "Reader", "hash")

    cancelled, finished = await _cancellation_sweep(engine_store, lambda: engine_store.get_credentials(user.email),
                                                    user.email)

    assert cancelled >= 50, "the sweep must actually cancel calls mid-flight"
    assert finished >= 5


async def test_a_cancelled_write_keeps_all_its_rows_or_none(engine_store):
    owner = await new_user(engine_store, "writer")
    user = await engine_store.get_user(owner.user_id)
    room = await engine_store.create_room(owner, room_name(), "A room")
    session = await engine_store.start_session(SERVICE, room.name)
    participant = await engine_store.add_participant(SERVICE, session.id, "ann-1", "Ann", owner.user_id)
    batch = [NewSegment(participant_id=participant.id, speaker="Ann", start=i, end=i + 0.5, text=f"words {i}")
             for i in range(SEGMENTS_PER_CALL)]

    cancelled, finished = await _cancellation_sweep(
        engine_store, lambda: engine_store.append_segments(SERVICE, session.id, batch), user.email)

    kept = await engine_store.list_segments(owner, session.id)
    whole_batches = len(kept) // SEGMENTS_PER_CALL  # a call cancelled in COMMIT may have committed
    assert [s.text for s in kept] == [b.text for b in batch] * whole_batches, "a cancelled batch left part of its rows"
    assert finished <= whole_batches
    assert [s.seq for s in kept] == list(range(1, len(kept) + 1)), "sequence numbers must stay gapless"
    assert cancelled >= 50


async def test_postgres_pool_connections_come_back_clean(postgres_url):
    application = f"parley-cancel-{uuid.uuid4().hex[:8]}"  # only this test's connections are inspected
    schema = fresh_schema()
    store = PostgresStore(postgres_url, schema, max_connections=4, application_name=application)
    await store.open()
    try:
        user = await store.create_user(f"{room_name()}@example.test", "Pooled", "hash")
        await _cancellation_sweep(store, lambda: store.get_credentials(user.email), user.email)

        with psycopg.connect(postgres_url) as observer:
            states = [row[0] for row in observer.execute(
                "SELECT state FROM pg_stat_activity WHERE application_name = %s", [application])]
        assert states and set(states) == {"idle"}, f"pool connections left busy: {states}"
        await _assert_usable(store, user.email)
    finally:
        await store.close()
        drop_schema(postgres_url, schema)
