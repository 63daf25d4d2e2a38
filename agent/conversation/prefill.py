"""Keeps the LLM's KV cache warm with the room's conversation while people talk.

Prompt processing dominates time to first token on CPU, so each new transcript line (and,
optionally, each interim) is evaluated ahead of the reply; the reply then only evaluates the
last few words. One request is in flight per room; newer requests replace a waiting one.
"""

from __future__ import annotations

import asyncio
import logging

from inference_server.client import InferenceError

from ..ports import Inference

log = logging.getLogger(__name__)

RETRY_AFTER_ERROR_S = 2.0


class Prefiller:
    def __init__(self, client: Inference) -> None:
        self._client = client
        self._wanted: list[dict[str, str]] | None = None
        self._last: list[dict[str, str]] | None = None
        self._task: asyncio.Task | None = None

    def request(self, messages: list[dict[str, str]]) -> None:
        if not messages or messages == self._last:
            return
        self._wanted = messages
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="prefill")

    def drop_pending(self) -> None:
        """A reply is starting: it evaluates its own prompt; a waiting prefill would only delay it."""
        self._wanted = None

    async def _run(self) -> None:
        while (messages := self._wanted) is not None:
            self._wanted = None
            try:
                tokens = await self._client.prefill(messages)
                self._last = messages
                log.debug("prefilled %d prompt tokens", tokens)
            except InferenceError as exc:
                log.debug("prefill failed: %s", exc)
                await asyncio.sleep(RETRY_AFTER_ERROR_S)

    async def aclose(self) -> None:
        self._wanted = None
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
