"""What only the Postgres backend has: migrations, row-level security, pgvector or its fallback."""

from __future__ import annotations

import json
import socket

import psycopg
import pytest

from parley.store import SERVICE, StoreUnavailable
from parley.store.postgres import MIGRATIONS_DIR, PostgresStore
from parley.store.records import NewMemory

from .conftest import drop_schema, fresh_schema, new_user, session_with_transcript

PROBE_ROLE = "parley_rls_probe"
TABLES = ["users", "api_keys", "refresh_tokens", "rooms", "room_members", "sessions", "participants", "segments",
          "memories", "speakers"]


def test_memory_search_uses_pgvector_where_it_exists(postgres_store, pgvector_store):
    with psycopg.connect(postgres_store.db.url) as conn:
        available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone()
    assert postgres_store.db.native_vectors is bool(available)
    assert pgvector_store.db.native_vectors is True


async def test_migrations_apply_once_and_their_sql_is_rerunnable(pg_store):
    assert await pg_store.db.migrate() == []  # already applied at open
    with psycopg.connect(pg_store.db.url, options=f"-c search_path={pg_store.db.schema},public,extensions") as conn:
        for path in sorted(MIGRATIONS_DIR.glob("*.sql")):  # as `supabase db push` might, again
            conn.execute(path.read_text())
        applied = [row[0] for row in conn.execute("SELECT name FROM parley_migrations ORDER BY name")]
    assert applied == sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql"))


async def test_two_processes_migrating_one_fresh_schema_do_not_collide(postgres_url):
    import asyncio

    schema = fresh_schema()
    stores = [PostgresStore(postgres_url, schema), PostgresStore(postgres_url, schema)]
    try:
        await asyncio.gather(*(s.open() for s in stores))
        assert await stores[0].count_users() == 0
    finally:
        for s in stores:
            await s.close()
        drop_schema(postgres_url, schema)


def _as_user(conn: psycopg.Connection, schema: str, user_id: str | None) -> None:
    """Act as a non-owner role carrying a user's JWT claims, as Supabase's REST API does."""
    conn.execute(f'SET LOCAL search_path = "{schema}", public')
    conn.execute(f"SET LOCAL ROLE {PROBE_ROLE}")
    conn.execute("SELECT set_config('request.jwt.claims', %s, true)",
                 [json.dumps({"sub": user_id, "role": "authenticated"}) if user_id else ""])


async def test_row_level_security_hides_other_users_rows(pg_store):
    ann, bob = await new_user(pg_store, "ann"), await new_user(pg_store, "bob")
    room, session, _ = await session_with_transcript(pg_store, ann)
    await pg_store.add_memory(ann, NewMemory(text="Ann's secret"), [1.0, 0.0])
    await pg_store.add_speaker(ann, "Ann", [0.5, 0.5])
    await pg_store.create_api_key(ann, "k", "abcdefabcdef", "h", ["rooms:read"], None)
    await pg_store.add_memory(bob, NewMemory(text="Bob's"), [0.0, 1.0])
    schema = pg_store.db.schema
    with psycopg.connect(pg_store.db.url, autocommit=True) as conn:
        conn.execute(f"DO $$ BEGIN CREATE ROLE {PROBE_ROLE} NOLOGIN; "
                     "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {PROBE_ROLE}')
        conn.execute(f'GRANT SELECT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO {PROBE_ROLE}')

    def visible(user_id: str | None) -> dict[str, int]:
        with psycopg.connect(pg_store.db.url) as conn, conn.transaction():
            _as_user(conn, schema, user_id)
            return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}

    as_bob, as_ann, anonymous = visible(bob.user_id), visible(ann.user_id), visible(None)
    assert as_bob == {"users": 1, "api_keys": 0, "refresh_tokens": 0, "rooms": 0, "room_members": 0, "sessions": 0,
                      "participants": 0, "segments": 0, "memories": 1, "speakers": 0}
    assert as_ann == {"users": 1, "api_keys": 1, "refresh_tokens": 0, "rooms": 1, "room_members": 1, "sessions": 1,
                      "participants": 1, "segments": 2, "memories": 1, "speakers": 1}
    assert set(anonymous.values()) == {0}

    with psycopg.connect(pg_store.db.url) as conn, conn.transaction():  # nor can Bob change Ann's rows
        _as_user(conn, schema, bob.user_id)
        assert conn.execute("UPDATE memories SET text = 'pwned'").rowcount == 1  # his own only
        assert conn.execute("DELETE FROM rooms").rowcount == 0
    assert [m.text for m in await pg_store.list_memories(ann)] == ["Ann's secret"]

    await pg_store.add_member(ann, room.name, (await pg_store.get_user(bob.user_id)).email)
    assert visible(bob.user_id)["segments"] == 2  # membership opens the room's transcripts
    assert (await pg_store.list_sessions(SERVICE, room.name))[0].id == session.id


async def test_an_unreachable_database_is_reported_as_unavailable():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = PostgresStore(f"postgresql://postgres@127.0.0.1:{port}/none", fresh_schema(), connect_timeout_s=2)
    with pytest.raises(StoreUnavailable, match="cannot reach the database"):
        await store.open()
    await store.close()


async def test_connections_lost_to_a_database_restart_are_replaced(postgres_url):
    name = f"parley-test-{fresh_schema()[-8:]}"
    schema = fresh_schema()
    store = PostgresStore(postgres_url, schema, application_name=name)
    await store.open()
    try:
        ann = await new_user(store, "ann")
        with psycopg.connect(postgres_url, autocommit=True) as admin:  # what a restart does to our sessions
            killed = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                   "WHERE application_name = %s", [name]).fetchone()[0]
        assert killed >= 1
        assert (await store.get_user(ann.user_id)).id == ann.user_id
    finally:
        await store.close()
        drop_schema(postgres_url, schema)


async def test_a_closed_pool_says_the_store_is_unavailable(postgres_url):
    schema = fresh_schema()
    store = PostgresStore(postgres_url, schema)
    await store.open()
    await store.close()
    try:
        with pytest.raises(StoreUnavailable, match="database"):
            await store.count_users()
    finally:
        drop_schema(postgres_url, schema)
