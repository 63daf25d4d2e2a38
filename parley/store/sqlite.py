"""SQLite backend: one file under the data dir, stdlib sqlite3 run in a worker thread.

SQLite allows one writer at a time, so transactions are serialized by an asyncio lock; each
statement runs in a worker thread so the event loop never waits on disk.

Cancellation: a worker thread cannot be stopped, so a cancelled caller first waits for the
statement it started, then the transaction rolls back, and only then is the cancellation
passed on. Whenever a caller's task ends, the connection is outside any transaction.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from .db import Database, Params, Row, Tx
from .errors import Conflict, StoreUnavailable
from .sql_store import SqlStore
from .sqlite_schema import MIGRATIONS, SCHEMA_VERSION
from .vectors import to_blob

T = TypeVar("T")


def _param(value: Any) -> Any:
    if isinstance(value, datetime):  # fixed width, so that text order is time order; naive means UTC
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    return value


def _params(params: Params) -> dict[str, Any]:
    return {key: _param(value) for key, value in (params or {}).items()}


async def _in_thread(fn: Callable[..., T], *args: Any) -> T:
    """fn(*args) in a worker thread, awaited to its end even if this task is cancelled meanwhile
    (the cancellation is raised afterwards): nothing may touch the connection while it runs."""
    work = asyncio.get_running_loop().run_in_executor(None, fn, *args)
    cancelled = False
    while not work.done():
        try:
            await asyncio.wait([work])
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        if not work.cancelled():
            work.exception()  # retrieved: the cancellation is what the caller asked to see
        raise asyncio.CancelledError
    return work.result()


def _unavailable(exc: sqlite3.OperationalError) -> StoreUnavailable:
    return StoreUnavailable(f"the SQLite store cannot serve this request now ({exc}); try again shortly")


class _SqliteTx(Tx):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def all(self, sql: str, params: Params = None) -> list[Row]:
        def run() -> list[Row]:
            cursor = self._conn.execute(sql, _params(params))
            return [dict(row) for row in cursor.fetchall()]
        return await self._guard(run)

    async def run(self, sql: str, params: Params = None) -> int:
        return await self._guard(lambda: self._conn.execute(sql, _params(params)).rowcount)

    @staticmethod
    async def _guard(fn):
        try:
            return await _in_thread(fn)
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                raise Conflict("already exists") from exc
            raise
        except sqlite3.OperationalError as exc:  # locked past busy_timeout, disk full, read-only
            raise _unavailable(exc) from exc


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = await _in_thread(self._connect)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA busy_timeout = 5000")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for step in range(version + 1, SCHEMA_VERSION + 1):
            conn.executescript(f"BEGIN; {MIGRATIONS[step]} PRAGMA user_version = {step}; COMMIT;")
        return conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._lock:
            conn = self._conn
            if conn is None:
                raise StoreUnavailable("the SQLite store is closed")
            try:
                try:
                    await _in_thread(conn.execute, "BEGIN IMMEDIATE")
                    yield _SqliteTx(conn)
                    await _in_thread(conn.commit)
                finally:
                    # Anything but a clean COMMIT: the block raised or was cancelled, BEGIN ran
                    # under a cancellation, COMMIT failed.
                    if conn.in_transaction:
                        await _in_thread(conn.rollback)
            except sqlite3.OperationalError as exc:
                raise _unavailable(exc) from exc

    def encode_embedding(self, vector: Sequence[float]) -> bytes:
        return to_blob(vector)

    async def close(self) -> None:
        # After the transaction in flight: closing under a statement another thread is running
        # crashes the interpreter (SIGSEGV), which a late after-session write once did.
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                await _in_thread(conn.close)


class SqliteStore(SqlStore):
    def __init__(self, path: Path) -> None:
        super().__init__(SqliteDatabase(path))

    async def open(self) -> None:
        await self.db.open()
