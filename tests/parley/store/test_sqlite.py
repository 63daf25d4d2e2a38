"""The SQLite engine's own edges: closing while another task is mid-transaction."""

from __future__ import annotations

import asyncio

import pytest

from parley.store.errors import StoreUnavailable
from parley.store.sqlite import SqliteStore


async def test_closing_waits_for_the_transaction_in_flight_then_refuses_clearly(tmp_path):
    store = SqliteStore(tmp_path / "parley.db")
    await store.open()
    inside = asyncio.Event()

    async def slow_read():
        async with store.db.transaction() as tx:
            inside.set()
            await asyncio.sleep(0.2)
            return await tx.all("SELECT count(*) AS n FROM sessions")

    reader = asyncio.create_task(slow_read())
    await inside.wait()
    await store.close()  # a room ending while its after-session work still reads
    assert await reader == [{"n": 0}]
    with pytest.raises(StoreUnavailable, match="closed"):
        async with store.db.transaction() as tx:
            await tx.all("SELECT 1")
