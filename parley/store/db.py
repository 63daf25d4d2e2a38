"""The small async SQL seam the shared store code runs on; one implementation per engine.

Queries are written once with `:name` parameters. The engines differ only in types at rest
(SQLite: text ids and ISO-8601 UTC text times; Postgres: uuid and timestamptz) and in how
memory embeddings are kept and searched (see `Database.native_vectors`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal

Params = Mapping[str, Any] | None
Row = dict[str, Any]


class Tx(ABC):
    """One transaction: commits when its block ends, rolls back on an exception."""

    @abstractmethod
    async def all(self, sql: str, params: Params = None) -> list[Row]: ...

    async def one(self, sql: str, params: Params = None) -> Row | None:
        rows = await self.all(sql, params)
        return rows[0] if rows else None

    @abstractmethod
    async def run(self, sql: str, params: Params = None) -> int:
        """Execute; the number of rows affected."""


class Database(ABC):
    dialect: Literal["sqlite", "postgres"]
    native_vectors: bool = False  # True: memories.embedding is a pgvector column searched in SQL

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """Raises store.errors.Conflict on a unique violation, StoreUnavailable when unreachable."""

    @abstractmethod
    def encode_embedding(self, vector: Sequence[float]) -> Any:
        """The memories.embedding parameter for this engine."""

    @abstractmethod
    async def close(self) -> None: ...
