"""The store: one interface (`Store`), over SQLite (embedded default) or Postgres (Supabase)."""

from __future__ import annotations

from parley.settings import Settings

from .base import SERVICE, Actor, Store
from .errors import Conflict, Forbidden, NotFound, StoreError, StoreUnavailable

SQLITE_FILE = "parley.db"


def create_store(settings: Settings) -> Store:
    """The configured backend, not yet opened: `await store.open()` connects and migrates."""
    if settings.database_url is not None:
        from .postgres import PostgresStore  # psycopg only where Postgres is used

        return PostgresStore(settings.database_url.get_secret_value(), settings.database_schema)
    from .sqlite import SqliteStore

    return SqliteStore(settings.data_dir / SQLITE_FILE)


__all__ = ["SERVICE", "Actor", "Conflict", "Forbidden", "NotFound", "Store", "StoreError", "StoreUnavailable",
           "create_store"]
