"""The store over SQL, written once for SQLite and Postgres (see db.py for what differs)."""

from __future__ import annotations

from .base import Store
from .sql_accounts import AccountQueries
from .sql_memories import MemoryQueries
from .sql_rooms import RoomQueries


class SqlStore(AccountQueries, RoomQueries, MemoryQueries, Store):
    """AccountQueries, RoomQueries and MemoryQueries (which builds on SessionQueries)."""
