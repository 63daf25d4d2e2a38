"""The inference-server registry in Redis: which servers are alive, and how busy each is.

Every server writes one key, `{prefix}{url}`, holding its URL and load (open transcription
streams, jobs waiting for the device), with a TTL a few heartbeats long. A server that dies
stops beating and drops out when its key expires; one that shuts down cleanly deletes its
key at once. Agents read the live entries and pick the least loaded (agent/inference_pool.py).
Redis is only needed where there is more than one inference server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import BaseModel, ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

if TYPE_CHECKING:  # agents import this module for `live_servers`: no server code at run time
    from .state import ServerState

log = logging.getLogger(__name__)

KEY_PREFIX = "parley:inference:"
HEARTBEAT_S = 2.0
TTL_S = 6.0  # three missed heartbeats and a server is gone


class ServerLoad(BaseModel):
    active_streams: int
    queue_depth: int


class Registration(BaseModel):
    url: str
    active_streams: int
    queue_depth: int
    updated_at: float  # UNIX time of the heartbeat

    @property
    def load(self) -> int:
        """One number to rank servers by: live streams plus work already waiting."""
        return self.active_streams + self.queue_depth


def server_load(state: ServerState) -> ServerLoad | None:
    """The load of a running server; None while its models are still loading (not ready)."""
    if state.engine is None:
        return None
    streams = state.metrics.registry.get_sample_value("parley_streams_active") or 0.0
    depth = sum(state.engine.scheduler.queue_depth().values())
    return ServerLoad(active_streams=int(streams), queue_depth=depth)


def default_public_url(port: int) -> str:
    """How other containers reach this one: its hostname (compose service replicas resolve it)."""
    return f"http://{socket.gethostname()}:{port}"


class InferenceRegistrar:
    """Keeps one server's entry alive while it runs: `start()` at start-up, `aclose()` at shutdown."""

    def __init__(self, redis: Redis, url: str, load: Callable[[], ServerLoad | None], *,
                 heartbeat_s: float = HEARTBEAT_S, ttl_s: float = TTL_S, prefix: str = KEY_PREFIX) -> None:
        if ttl_s <= heartbeat_s:
            raise ValueError("the TTL must outlast a heartbeat")
        self.redis = redis
        self.url = url.rstrip("/")
        self.key = prefix + self.url
        self._load = load
        self._heartbeat_s = heartbeat_s
        self._ttl_ms = int(ttl_s * 1000)
        self._task: asyncio.Task | None = None

    @classmethod
    def for_server(cls, state: ServerState, redis_url: str, public_url: str, **options) -> InferenceRegistrar:
        """The registrar of a server app (`app.state.parley`); the app's lifespan starts and closes it."""
        return cls(Redis.from_url(redis_url), public_url, lambda: server_load(state), **options)

    async def beat(self) -> None:
        load = self._load()
        if load is None:  # not ready: agents must not pick it yet
            await self.redis.delete(self.key)
            return
        entry = Registration(url=self.url, updated_at=time.time(), **load.model_dump())
        await self.redis.set(self.key, entry.model_dump_json(), px=self._ttl_ms)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inference-registrar")

    async def _run(self) -> None:
        # Whatever goes wrong with one beat, the next one comes: a server that drops out of the registry
        # while it serves gets no new streams, and nothing would say why.
        while True:
            try:
                # A Redis that stops answering: give up in time for the next beat to keep the entry alive.
                async with asyncio.timeout(self._heartbeat_s):
                    await self.beat()
            except (RedisError, OSError, TimeoutError) as exc:  # Redis away: keep serving, try again next beat
                if not asyncio.current_task().cancelling():
                    log.warning("registry heartbeat failed: %s", str(exc) or type(exc).__name__)
            except Exception:
                log.exception("registry heartbeat failed")
            if asyncio.current_task().cancelling():
                # A cancel that landed inside a command can come back as a connection error or not at
                # all (redis-py 8.2 returns normally from ~1 in 12 cancelled SETs), but the task stays
                # marked: stop, or a stopped server keeps beating and stays listed forever.
                raise asyncio.CancelledError
            await asyncio.sleep(self._heartbeat_s)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            await self.redis.delete(self.key)  # leave at once rather than when the TTL runs out
        await self.redis.aclose()


async def live_servers(redis: Redis, *, prefix: str = KEY_PREFIX) -> list[Registration]:
    """Servers with a live entry, least loaded first."""
    # SCAN may return a key more than once (while Redis resizes its table): each server is listed once.
    keys = list(dict.fromkeys([key async for key in redis.scan_iter(match=f"{prefix}*", count=100)]))
    entries = []
    for raw in await redis.mget(keys) if keys else []:
        if raw is None:  # expired between SCAN and MGET
            continue
        try:
            entries.append(Registration.model_validate_json(raw))
        except ValidationError:
            log.warning("ignoring a malformed registry entry: %r", raw[:200])
    return sorted(entries, key=lambda entry: (entry.load, entry.url))
