"""Waiting for a condition where the code under test offers no event to wait on.

Polls the condition (sync or async) until it holds; fails after `timeout` seconds. The deadline
only bounds a broken run: a passing test waits exactly as long as the condition takes.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

POLL_S = 0.01


async def until(condition: Callable[[], bool | Awaitable[bool]], timeout: float = 10.0, what: str = "") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or 'condition'}")
        await asyncio.sleep(POLL_S)
