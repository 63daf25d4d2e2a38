"""Fixed-window rate limits: per user, per API key, per login address. In-process by default;
in Redis when PARLEY_REDIS_URL is set, so several API processes share one budget.

A fixed window lets up to 2x the limit through across a window edge; that is acceptable for
abuse protection and costs one INCR per request, where a sliding log costs a sorted set.
Windows are read off an injected clock (wall time by default), so tests decide where they fall.
"""

from __future__ import annotations

import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

Clock = Callable[[], float]  # seconds; windows are aligned to its multiples of window_s


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: int = 0  # whole seconds until the window resets, when refused


class RateLimiter(ABC):
    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock

    @abstractmethod
    async def hit(self, bucket: str, limit: int, window_s: int) -> Verdict:
        """Count one request against `bucket`; refused once `limit` is passed within the window."""

    async def aclose(self) -> None:  # noqa: B027 - most limiters hold nothing to close
        return None

    def _window(self, window_s: int) -> tuple[int, int]:
        """(window index, seconds until it ends)."""
        now = self._clock()
        return int(now // window_s), max(1, math.ceil(window_s - now % window_s))


class InProcessRateLimiter(RateLimiter):
    def __init__(self, clock: Clock = time.time) -> None:
        super().__init__(clock)
        self._counts: dict[tuple[str, int], tuple[int, int]] = {}  # (bucket, window_s) -> (window, count)

    async def hit(self, bucket: str, limit: int, window_s: int) -> Verdict:
        window, left = self._window(window_s)
        seen, count = self._counts.get((bucket, window_s), (window, 0))
        count = count + 1 if seen == window else 1
        self._counts[(bucket, window_s)] = (window, count)
        if len(self._counts) > 50_000:  # forget finished windows
            self._counts = {k: v for k, v in self._counts.items() if v[0] == self._window(k[1])[0]}
        return Verdict(True) if count <= limit else Verdict(False, left)


class RedisRateLimiter(RateLimiter):
    """INCR of `<prefix>:<bucket>:<window>` with an expiry; if Redis is down requests are let
    through (logged) rather than taking the whole API down with it."""

    def __init__(self, url: str, *, prefix: str = "parley:rl", clock: Clock = time.time) -> None:
        from redis.asyncio import Redis

        super().__init__(clock)
        self._redis = Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self.prefix = prefix

    async def hit(self, bucket: str, limit: int, window_s: int) -> Verdict:
        from redis.exceptions import RedisError

        window, left = self._window(window_s)
        key = f"{self.prefix}:{bucket}:{window_s}:{window}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                count, _ = await pipe.incr(key).expire(key, window_s + 1).execute()
        except (RedisError, OSError) as exc:
            log.warning("rate limit not enforced: Redis unavailable (%s)", type(exc).__name__)
            return Verdict(True)
        return Verdict(True) if count <= limit else Verdict(False, left)

    async def aclose(self) -> None:
        await self._redis.aclose()


def create_rate_limiter(redis_url: str | None, clock: Clock = time.time) -> RateLimiter:
    return RedisRateLimiter(redis_url, clock=clock) if redis_url else InProcessRateLimiter(clock)
