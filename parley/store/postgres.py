"""Postgres backend (Supabase or any Postgres): psycopg 3 async with a connection pool.

`open()` applies supabase/migrations in order, once each (tracked in parley_migrations, under
an advisory lock so that several API processes starting together do not race), then checks
whether memories.embedding is a pgvector column.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolClosed, PoolTimeout

from .db import Database, Params, Row, Tx
from .errors import Conflict, StoreUnavailable
from .sql_store import SqlStore
from .vectors import pgvector_literal, to_blob

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "supabase" / "migrations"
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('parley-migrations'))"


def _params(params: Params) -> dict:
    """Naive datetimes mean UTC here, whatever the server's TimeZone."""
    return {k: v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v
            for k, v in (params or {}).items()}


@lru_cache(maxsize=512)
def _pyformat(sql: str) -> str:
    """`:name` → `%(name)s`, leaving `::casts` alone."""
    return re.sub(r"(?<![:\w]):([A-Za-z_]\w*)", r"%(\1)s", sql)


class _PgTx(Tx):
    def __init__(self, conn: psycopg.AsyncConnection) -> None:
        self._conn = conn

    async def all(self, sql: str, params: Params = None) -> list[Row]:
        async with self._conn.cursor(row_factory=dict_row) as cursor:
            await cursor.execute(_pyformat(sql), _params(params))
            return await cursor.fetchall() if cursor.description else []

    async def run(self, sql: str, params: Params = None) -> int:
        async with self._conn.cursor() as cursor:
            await cursor.execute(_pyformat(sql), _params(params))
            return cursor.rowcount


class PostgresDatabase(Database):
    dialect = "postgres"

    def __init__(self, url: str, schema: str = "public", *, max_connections: int = 10,
                 migrations_dir: Path = MIGRATIONS_DIR, connect_timeout_s: float = 10.0,
                 application_name: str = "parley") -> None:
        self.url, self.schema, self.migrations_dir = url, schema, migrations_dir
        self.connect_timeout_s = connect_timeout_s
        # search_path: our schema first; pgvector lives in public or (on Supabase) extensions.
        # prepare_threshold=None: Supabase's transaction pooler cannot keep prepared statements.
        self._connect_kwargs = {"options": f"-c search_path={schema},public,extensions", "prepare_threshold": None,
                                "application_name": application_name}
        # check: a connection broken by a database restart is replaced instead of failing a write.
        self._pool = AsyncConnectionPool(url, min_size=1, max_size=max_connections, open=False,
                                         kwargs=self._connect_kwargs, timeout=connect_timeout_s,
                                         check=AsyncConnectionPool.check_connection)

    async def open(self) -> None:
        try:
            await self.migrate()
            await self._pool.open(wait=True, timeout=self.connect_timeout_s)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StoreUnavailable(f"cannot reach the database: {exc}") from exc

    async def migrate(self) -> list[str]:
        """Apply the migrations not applied yet to this schema; the names applied."""
        applied: list[str] = []
        async with await psycopg.AsyncConnection.connect(self.url, connect_timeout=int(self.connect_timeout_s),
                                                         **self._connect_kwargs) as conn:
            async with conn.transaction():
                await conn.execute(_LOCK)
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                await conn.execute("CREATE TABLE IF NOT EXISTS parley_migrations "
                                   "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
                done = {row[0] for row in await (await conn.execute("SELECT name FROM parley_migrations")).fetchall()}
                for path in sorted(self.migrations_dir.glob("*.sql")):
                    if path.name not in done:
                        await conn.execute(path.read_text())
                        await conn.execute("INSERT INTO parley_migrations (name) VALUES (%s)", [path.name])
                        applied.append(path.name)
                row = await (await conn.execute(
                    "SELECT udt_name FROM information_schema.columns WHERE table_schema = %s "
                    "AND table_name = 'memories' AND column_name = 'embedding'", [self.schema])).fetchone()
        self.native_vectors = bool(row and row[0] == "vector")
        if applied:
            log.info("database schema %s: applied %s", self.schema, ", ".join(applied))
        log.info("memory search: %s", "pgvector" if self.native_vectors else "in-process (no pgvector)")
        return applied

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        try:
            async with self._pool.connection() as conn, conn.transaction():
                yield _PgTx(conn)
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict("already exists") from exc
        except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout, PoolClosed) as exc:
            raise StoreUnavailable(f"the database is unavailable: {exc}") from exc

    def encode_embedding(self, vector: Sequence[float]) -> str | bytes:
        return pgvector_literal(vector) if self.native_vectors else to_blob(vector)

    async def close(self) -> None:
        await self._pool.close()


class PostgresStore(SqlStore):
    def __init__(self, url: str, schema: str = "public", **options) -> None:
        super().__init__(PostgresDatabase(url, schema, **options))

    async def open(self) -> None:
        await self.db.open()
