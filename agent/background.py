"""Work a room leaves behind when it closes: transcript writes still waiting for the store, and
the session's title, summary and memories from the LLM. Each host (the embedded rooms of an API
process, one LiveKit job) owns one and drains it, bounded, before it closes the store."""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)


class BackgroundWork:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()

    def keep(self, task: asyncio.Task) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout_s: float) -> bool:
        """Wait for the work kept so far; what is left at the timeout is cancelled (store writes
        are cancellation-safe) and False returned."""
        if not self._tasks:
            return True
        _, left = await asyncio.wait(set(self._tasks), timeout=timeout_s)
        if not left:
            return True
        log.warning("%d pieces of after-session work unfinished after %.0f s; dropped", len(left), timeout_s)
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
        return False
