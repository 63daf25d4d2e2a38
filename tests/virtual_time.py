"""An event loop on a virtual clock: when nothing is ready to run, time jumps to the next timer.

Sleeps, `wait_for` and `asyncio.timeout` deadlines, and everything timed with `loop.time()`
(the conversation engine's `now()`) then take no wall time, and a test's timeline is exact and
repeatable. Sockets still work (polled without waiting); a coroutine waiting on a thread or on
I/O with no timer pending blocks for real, so such tests stay on an ordinary loop.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _Selector(selectors.DefaultSelector):
    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None):
        ready = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:  # no timer at all: only I/O can wake the loop
            return super().select(None)
        self._loop.advance(timeout)
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self._now = 0.0
        super().__init__(selector=_Selector(self))

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to its end on a fresh virtual-time loop, starting at time 0."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
