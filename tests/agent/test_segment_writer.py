"""The transcript writer keeps every final, in order, through a store outage: SQLite locked by
another process's exclusive transaction, and Postgres behind a TCP proxy that is stopped
mid-session (every connection cut, new ones refused) and started again."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from agent.events import CaptionFinal, ParticipantInfo
from agent.background import BackgroundWork
from agent.segment_writer import SegmentWriter
from parley.store import SERVICE, Actor
from parley.store.postgres import PostgresStore
from parley.store.sqlite import SqliteStore
from tests.parley.store.conftest import drop_schema, fresh_schema
from tests.waiting import until

DATABASE_URL = os.environ.get("PARLEY_TEST_DATABASE_URL", "")
ANN = ParticipantInfo(id="p-ann", name="Ann")
BOB = ParticipantInfo(id="p-bob", name="Bob")
FAST_RETRY = (0.05, 0.1, 0.2)


def final(n: int, who: ParticipantInfo = ANN) -> CaptionFinal:
    return CaptionFinal(caption_id=f"c{n}", participant_id=who.id, speaker=who.name, text=f"sentence {n}",
                        start=n, end=n + 0.8, emotion="neutral" if n % 2 else "joy", emotion_score=0.7)


async def room_for(store) -> str:
    owner = await store.create_user(f"o-{uuid.uuid4().hex[:8]}@example.test", "Owner", "hash")
    return (await store.create_room(Actor.for_user(owner.id), f"room-{uuid.uuid4().hex[:10]}", "Room")).name


async def stored(store, writer: SegmentWriter) -> list[tuple[int, str, str, str]]:
    return [(s.seq, s.speaker, s.text, s.emotion)
            for s in await store.list_segments(SERVICE, writer.session_id)]


class FailureWatch:
    """A store seen through: `failed` is set once a call to it raises (a write that really failed)."""

    def __init__(self, store) -> None:
        self._store = store
        self.failed = asyncio.Event()

    def __getattr__(self, name: str):
        call = getattr(self._store, name)

        async def watched(*args, **kwargs):
            try:
                return await call(*args, **kwargs)
            except Exception:
                self.failed.set()
                raise

        return watched


async def test_after_session_work_can_be_awaited_before_the_store_closes(tmp_path):
    """What a LiveKit job does before closing its store: the session's slow LLM work finishes."""
    store = SqliteStore(tmp_path / "parley.db")
    await store.open()

    title_written = asyncio.Event()  # the LLM writing a title: done when the test says so

    async def describe(session_id: str) -> None:
        await title_written.wait()
        await store.describe_session(SERVICE, session_id, "Stand-up", "Short.")

    background = BackgroundWork()
    writer = SegmentWriter(store, await room_for(store), on_ended=describe, background=background)
    writer.final(final(1))
    await writer.aclose()  # returns at once: the title is background work
    assert background.pending == 1
    title_written.set()
    assert await background.drain(5.0)
    await store.close()

    store = SqliteStore(tmp_path / "parley.db")
    await store.open()
    try:
        session = await store.get_session(SERVICE, writer.session_id)
    finally:
        await store.close()
    assert session.title == "Stand-up" and session.ended_at is not None


async def test_a_session_its_participants_and_finals_are_written_as_they_happen(tmp_path):
    store = SqliteStore(tmp_path / "parley.db")
    await store.open()
    ended: list[str] = []
    told = asyncio.Event()

    async def on_ended(session_id: str) -> None:
        ended.append(session_id)
        told.set()

    writer = SegmentWriter(store, await room_for(store), on_ended=on_ended)
    writer.participant(ANN)
    writer.final(final(1))
    writer.participant(BOB)
    writer.final(final(2, BOB))
    await until(lambda: _count(store, writer, 2))
    participants = {p.identity: p for p in await store.list_participants(SERVICE, writer.session_id)}
    segments = await store.list_segments(SERVICE, writer.session_id)
    assert [s.participant_id for s in segments] == [participants["p-ann"].id, participants["p-bob"].id]
    assert (segments[1].speaker, segments[1].start, segments[1].end, segments[1].emotion) == ("Bob", 2, 2.8, "joy")
    await writer.aclose()
    session = await store.get_session(SERVICE, writer.session_id)
    assert session.ended_at is not None
    await asyncio.wait_for(told.wait(), 5)
    assert ended == [writer.session_id]
    await store.close()


async def _count(store, writer, n: int) -> bool:
    return writer.session_id is not None and len(await store.list_segments(SERVICE, writer.session_id)) >= n


async def test_sqlite_locked_mid_session_loses_nothing_and_keeps_order(tmp_path):
    path = tmp_path / "parley.db"
    store = SqliteStore(path)
    await store.open()
    watched = FailureWatch(store)
    writer = SegmentWriter(watched, await room_for(store), retry_delays_s=FAST_RETRY)
    writer.participant(ANN)
    for n in range(1, 4):
        writer.final(final(n))
    await until(lambda: _count(store, writer, 3))

    locker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    locker.execute("BEGIN EXCLUSIVE")  # another process holds the database: every write fails
    for n in range(4, 21):
        writer.final(final(n, BOB if n % 3 == 0 else ANN))
    writer.participant(BOB)
    await asyncio.wait_for(watched.failed.wait(), 30)  # after the store's 5 s busy timeout
    assert writer.pending > 0
    locker.execute("ROLLBACK")
    locker.close()

    await writer.aclose()
    rows = await stored(store, writer)
    assert [r[0] for r in rows] == list(range(1, 21))
    assert [r[2] for r in rows] == [f"sentence {n}" for n in range(1, 21)]
    assert (await store.get_session(SERVICE, writer.session_id)).ended_at is not None
    await store.close()


class TcpProxy:
    """127.0.0.1:<port> -> the database. `stop` cuts every connection and refuses new ones."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}


@pytest.fixture
async def proxied_postgres():
    if not DATABASE_URL:
        pytest.skip("PARLEY_TEST_DATABASE_URL is not set")
    parts = urlsplit(DATABASE_URL)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    netloc = (f"{parts.username}@" if parts.username else "") + f"127.0.0.1:{proxy.port}"
    schema = fresh_schema()
    store = PostgresStore(urlunsplit(parts._replace(netloc=netloc)), schema, connect_timeout_s=2)
    try:
        await store.open()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Postgres at PARLEY_TEST_DATABASE_URL is unavailable: {exc}")
    yield store, proxy
    await store.close()
    drop_schema(DATABASE_URL, schema)


async def test_postgres_stopped_mid_session_loses_nothing_and_keeps_order(proxied_postgres):
    store, proxy = proxied_postgres
    watched = FailureWatch(store)
    writer = SegmentWriter(watched, await room_for(store), retry_delays_s=FAST_RETRY)
    writer.participant(ANN)
    for n in range(1, 4):
        writer.final(final(n))
    await until(lambda: _count(store, writer, 3))

    await proxy.stop()  # the database goes away mid-session
    writer.participant(BOB)
    for n in range(4, 21):
        writer.final(final(n, BOB if n % 3 == 0 else ANN))
    await asyncio.wait_for(watched.failed.wait(), 30)
    assert writer.pending > 0
    await proxy.start()  # back, on the same address

    await writer.aclose(timeout_s=30)
    rows = await stored(store, writer)
    assert [r[0] for r in rows] == list(range(1, 21))
    assert [r[1] for r in rows][5] == "Bob" and [r[2] for r in rows][-1] == "sentence 20"
    assert (await store.get_session(SERVICE, writer.session_id)).ended_at is not None


async def test_background_work_left_at_the_timeout_is_cancelled_not_left_running():
    background, started, cancelled = BackgroundWork(), asyncio.Event(), asyncio.Event()

    async def endless_llm() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    background.keep(asyncio.create_task(endless_llm()))
    await started.wait()
    assert await background.drain(0.01) is False
    assert cancelled.is_set() and background.pending == 0
