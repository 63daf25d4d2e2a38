"""Work done for a request stops when its client goes away, non-streaming requests included.

Starlette cancels a streaming response when the client disconnects, but a plain request's
handler runs to the end: a chat whose client gave up would keep the device busy for
everyone. `unless_disconnected` races the work against the client's disconnect and cancels
the work (its queued scheduler jobs leave the queue; a running LLM stops after its token).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import TypeVar

from fastapi import Request

from .errors import APIProblem

T = TypeVar("T")


async def unless_disconnected(request: Request, work: Awaitable[T]) -> T:
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            return task.result()
    finally:
        for pending in (task, watcher):
            pending.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task  # its cleanup (closing the LLM's generation) runs before we go on
    request.app.state.parley.metrics.abandoned.inc()
    raise APIProblem(499, "the client closed the request", code="client_closed_request")


async def _disconnected(request: Request) -> None:
    # The body is already read, so the next message is the disconnect.
    while (await request.receive())["type"] != "http.disconnect":
        pass
