"""Fixed-window limits, in-process and in Redis (PARLEY_TEST_REDIS_URL)."""

from __future__ import annotations

import os
import uuid

import pytest

from api.auth.rate_limits import InProcessRateLimiter, RedisRateLimiter
from tests.clock import ManualClock

REDIS_URL = os.environ.get("PARLEY_TEST_REDIS_URL", "")


@pytest.fixture
async def redis_limiters():
    if not REDIS_URL:
        print("\nRedis rate-limit tests skipped: PARLEY_TEST_REDIS_URL is not set")
        pytest.skip("PARLEY_TEST_REDIS_URL is not set (CI: redis://127.0.0.1:6379/0)")
    prefix = f"parley-test:{uuid.uuid4().hex}"
    clock = ManualClock()
    limiters = [RedisRateLimiter(REDIS_URL, prefix=prefix, clock=clock),
                RedisRateLimiter(REDIS_URL, prefix=prefix, clock=clock)]
    try:
        await limiters[0]._redis.ping()
    except Exception as exc:  # noqa: BLE001 - any failure to reach it means: skip, saying why
        print(f"\nRedis rate-limit tests skipped: {exc}")
        pytest.skip(f"Redis at PARLEY_TEST_REDIS_URL is unreachable: {exc}")
    yield limiters
    keys = [k async for k in limiters[0]._redis.scan_iter(f"{prefix}:*")]
    if keys:
        await limiters[0]._redis.delete(*keys)
    for limiter in limiters:
        await limiter.aclose()


async def _exhaust(limiter, bucket: str, limit: int, window_s: int = 60):
    return [await limiter.hit(bucket, limit, window_s) for _ in range(limit + 1)]


async def test_in_process_limits_refuse_past_the_limit_with_a_retry_time():
    limiter = InProcessRateLimiter(ManualClock())
    verdicts = await _exhaust(limiter, "user:a", 3)
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert verdicts[-1].retry_after_s == 40  # the clock stands 20 s into the minute
    assert (await limiter.hit("user:b", 3, 60)).allowed  # buckets are independent
    assert (await limiter.hit("user:a", 3, 3600)).allowed  # and so are windows


async def test_a_new_window_starts_exactly_at_its_boundary():
    clock = ManualClock()
    limiter = InProcessRateLimiter(clock)
    await _exhaust(limiter, "login:1.2.3.4", 2)
    clock.advance(39.999)
    assert not (await limiter.hit("login:1.2.3.4", 2, 60)).allowed
    clock.advance(0.001)
    assert [(await limiter.hit("login:1.2.3.4", 2, 60)).allowed for _ in range(3)] == [True, True, False]


async def test_redis_limits_are_shared_by_every_process(redis_limiters):
    first, second = redis_limiters
    assert [(await first.hit("key:k1", 4, 60)).allowed for _ in range(2)] == [True, True]
    assert [(await second.hit("key:k1", 4, 60)).allowed for _ in range(3)] == [True, True, False]
    refused = await first.hit("key:k1", 4, 60)
    assert not refused.allowed and refused.retry_after_s == 40
    assert (await second.hit("key:k2", 4, 60)).allowed
    ttl = await first._redis.ttl(f"{first.prefix}:key:k1:60:{first._window(60)[0]}")
    assert 0 < ttl <= 61  # counters expire with their window


async def test_a_redis_outage_lets_requests_through_and_says_so(caplog):
    limiter = RedisRateLimiter("redis://127.0.0.1:9/0")
    verdict = await limiter.hit("user:a", 1, 60)
    assert verdict.allowed
    assert "rate limit not enforced" in caplog.text and "127.0.0.1:9" not in caplog.text
    await limiter.aclose()
