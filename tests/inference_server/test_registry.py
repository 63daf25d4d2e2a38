"""The registry in Redis and agents' failover, against two real inference servers on loopback."""

from __future__ import annotations

import asyncio
import os
import random
import uuid

import jiwer
import numpy as np
import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from agent.inference_pool import InferencePool
from bench.audio import aplay_realtime_chunks, load_conversation, load_pcm16k
from inference_server.client import InferenceClient
from inference_server.protocol import Final, StreamConfig
from inference_server.registry import InferenceRegistrar, ServerLoad, live_servers, server_load

from tests.waiting import until

from .killable import killable_server

pytestmark = pytest.mark.slow

REDIS_URL = os.environ.get("PARLEY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def redis():
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        print(f"SKIPPED: Redis at {REDIS_URL} is unreachable ({exc})")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable ({exc}); set PARLEY_TEST_REDIS_URL")
    yield client
    await client.aclose()


@pytest.fixture
def prefix() -> str:
    return f"parley-test:{uuid.uuid4().hex[:8]}:"  # tests of other runs share the database


@pytest.fixture(scope="module")
def two_servers(model_settings, models):
    with killable_server(model_settings, models) as first, killable_server(model_settings, models) as second:
        yield first, second


def streams_on(server) -> int:
    return server_load(server.app.state.parley).active_streams


async def listed(redis, prefix: str, urls: list[str]) -> bool:
    return sorted(e.url for e in await live_servers(redis, prefix=prefix)) == urls


def registrar(server, prefix: str, **options) -> InferenceRegistrar:
    return InferenceRegistrar(Redis.from_url(REDIS_URL), server.url, lambda: server_load(server.app.state.parley),
                              prefix=prefix, **options)


async def test_a_server_registers_its_load_and_leaves_when_it_stops_beating(redis, prefix, two_servers):
    server = two_servers[0]
    entry = registrar(server, prefix, heartbeat_s=0.2, ttl_s=0.6)
    await entry.beat()
    [registered] = await live_servers(redis, prefix=prefix)
    assert (registered.url, registered.active_streams) == (server.url, 0)

    async with InferenceClient(server.url) as client, client.stream(StreamConfig()) as stream:
        await stream.send_audio(bytes(3200))
        await until(lambda: streams_on(server) == 1, what="the server counts the stream")
        await entry.beat()
        [registered] = await live_servers(redis, prefix=prefix)
        assert registered.active_streams == 1 and registered.load >= 1

    entry.start()
    entry._task.cancel()  # the process died: no more heartbeats, no goodbye
    await until(lambda: listed(redis, prefix, []), what="the silent server's entry expired")
    await entry.redis.aclose()


async def test_a_clean_shutdown_leaves_at_once_and_a_loading_server_is_not_listed(redis, prefix):
    loading = InferenceRegistrar(Redis.from_url(REDIS_URL), "http://loading:8001", lambda: None, prefix=prefix)
    ready = InferenceRegistrar(Redis.from_url(REDIS_URL), "http://ready:8001",
                               lambda: ServerLoad(active_streams=0, queue_depth=2), prefix=prefix, ttl_s=60)
    for entry in (loading, ready):
        entry.start()
    await until(lambda: listed(redis, prefix, ["http://ready:8001"]), what="the ready server listed, alone")
    await ready.aclose()
    await loading.aclose()
    assert await live_servers(redis, prefix=prefix) == []


async def test_a_beat_that_fails_does_not_stop_the_next_ones(redis, prefix):
    """A load reading that raises once (any bug) must not take a serving server out of the registry."""
    readings = iter([RuntimeError("a bug in the load reading")])

    def load() -> ServerLoad:
        if (failure := next(readings, None)) is not None:
            raise failure
        return ServerLoad(active_streams=1, queue_depth=0)

    entry = InferenceRegistrar(Redis.from_url(REDIS_URL), "http://flaky:8001", load, prefix=prefix,
                               heartbeat_s=0.05, ttl_s=1.0)
    entry.start()
    await until(lambda: listed(redis, prefix, ["http://flaky:8001"]), what="listed after the failed beat")
    await entry.aclose()


async def test_a_redis_that_stops_answering_does_not_stop_the_heartbeats():
    """A Redis connection that hangs (no reply, no reset): each beat gives up after a heartbeat and
    the next one tries again on a new connection, instead of waiting forever."""
    connections = 0

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.read()  # reads what is sent, never answers

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    # No socket timeout of the client's own: only the registrar's can end the wait.
    entry = InferenceRegistrar(Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_timeout=None), "http://a:8001",
                               lambda: ServerLoad(active_streams=0, queue_depth=0), heartbeat_s=0.05, ttl_s=0.2)
    entry.start()
    await until(lambda: connections >= 2, what="a second beat after the first one hung")
    entry._task.cancel()
    await asyncio.gather(entry._task, return_exceptions=True)
    await entry.redis.aclose()
    server.close()


async def test_a_server_is_listed_once_though_scan_returns_its_key_twice(redis, prefix):
    """Redis' SCAN may return one key more than once; the listing must not count a server twice."""
    entry = InferenceRegistrar(Redis.from_url(REDIS_URL), "http://once:8001",
                               lambda: ServerLoad(active_streams=0, queue_depth=0), prefix=prefix)
    await entry.beat()

    class RepeatingScan(Redis):
        async def scan_iter(self, *args, **kwargs):
            async for key in super().scan_iter(*args, **kwargs):
                yield key
                yield key

    repeating = RepeatingScan.from_url(REDIS_URL)
    assert [e.url for e in await live_servers(repeating, prefix=prefix)] == ["http://once:8001"]
    await repeating.aclose()
    await entry.aclose()


async def test_agents_pick_the_least_loaded_live_server(redis, prefix, two_servers):
    busy, idle = two_servers
    entries = [registrar(server, prefix) for server in two_servers]
    pool = InferencePool(redis=Redis.from_url(REDIS_URL), prefix=prefix, refresh_s=0.0)
    async with InferenceClient(busy.url) as client, client.stream(StreamConfig()) as stream:
        await stream.send_audio(bytes(3200))
        await until(lambda: streams_on(busy) == 1, what="the server counts the stream")
        for entry in entries:
            await entry.beat()
        assert await pool.candidates() == [idle.url, busy.url]
    await until(lambda: streams_on(busy) == 0, what="the stream closed on the server")
    for entry in entries:
        await entry.beat()
    async with pool.stream() as first, pool.stream() as second:
        # Both idle: the second stream counts the one this agent just opened, before any heartbeat.
        assert {first.url, second.url} == {busy.url, idle.url}
    for entry in entries:
        await entry.aclose()
    await pool.aclose()


async def test_requests_fail_over_from_a_dead_server(two_servers):
    live = two_servers[0]
    pool = InferencePool(["http://127.0.0.1:9", live.url])  # port 9: nothing listens
    health = await pool.health()
    assert health.status == "ready"
    assert await pool.candidates() == [live.url]  # the dead one sits out its cool-down
    text = "".join([t async for t in pool.chat_stream([{"role": "user", "content": "Say hi."}], max_tokens=5)])
    assert text
    await pool.aclose()


async def test_a_stream_survives_its_server_being_killed_mid_utterance(redis, prefix, models, model_settings,
                                                                       audio_cache):
    conversation = load_conversation("short", audio_cache)
    audio = load_pcm16k(conversation.path)
    with killable_server(model_settings, models) as first, killable_server(model_settings, models) as second:
        entries = [registrar(server, prefix, heartbeat_s=0.5, ttl_s=2.5) for server in (first, second)]
        for entry in entries:
            entry.start()
        await until(lambda: listed(redis, prefix, sorted([first.url, second.url])), what="both servers listed")
        pool = InferencePool(redis=Redis.from_url(REDIS_URL), prefix=prefix)
        servers = {first.url: (first, entries[0]), second.url: (second, entries[1])}
        finals: list[Final] = []
        async with pool.stream(StreamConfig()) as stream:
            victim, victim_entry = servers[stream.url]

            async def play() -> None:
                kill_at = (conversation.turns[2].start + conversation.turns[2].end) / 2  # mid third turn
                sent = 0.0
                async for chunk in aplay_realtime_chunks(audio, chunk_ms=100):
                    await stream.send_audio(chunk)
                    sent += len(chunk) / 32000
                    if victim.alive and sent >= kill_at:
                        victim_entry._task.cancel()  # a dead process stops beating
                        await asyncio.to_thread(victim.kill)
                await stream.send_audio(np.zeros(16000, np.int16).tobytes())
                await stream.end()

            player = asyncio.create_task(play())
            async for event in stream:
                if isinstance(event, Final):
                    finals.append(event)
            await player
            assert stream.failovers == 1 and stream.url != victim.url

        spoken = " ".join(f.text for f in finals)
        error = jiwer.wer(_norm(conversation.text), _norm(spoken))
        print(f"failover: {len(finals)} finals, WER {error:.2f}: {[f.text for f in finals]}")
        assert error <= 0.3, spoken
        captions = [(f.utterance_id, f.segment) for f in finals]
        assert captions == sorted(set(captions))  # each caption final once, in order, across the two servers
        assert all(a.end <= b.start + 0.05 for a, b in zip(finals, finals[1:]))  # one clock across servers
        third = conversation.turns[2]
        assert any(abs(f.start - third.start) < 0.6 and "update" in f.text.lower() for f in finals), \
            "the utterance cut by the kill was finalized by the other server"
        # The dead server's entry expires; the survivor's stays fresh.
        seen: list[str] = []

        async def only_the_survivor() -> bool:
            seen[:] = sorted(e.url for e in await live_servers(redis, prefix=prefix))
            return seen == [stream.url]

        try:
            await until(only_the_survivor)
        except AssertionError:
            raise AssertionError(f"only the survivor {stream.url} should be listed, not {seen}") from None
        for entry in entries:
            await entry.aclose()
        await pool.aclose()


def _norm(text: str) -> str:
    return jiwer.RemovePunctuation()(text.lower())


@pytest.mark.parametrize("swallow", ["as an error", "entirely"])
async def test_a_cancel_the_redis_client_swallows_still_stops_the_heartbeats(swallow):
    """A client may surface a cancel during a command as a connection error, or return as if nothing
    happened (redis-py 8.2 does, test below); the beats must stop either way."""
    in_flight = asyncio.Event()

    class SwallowingClient(InferenceRegistrar):
        async def beat(self) -> None:
            in_flight.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                if swallow == "as an error":
                    raise RedisConnectionError("connection closed by a cancel") from None

    entry = SwallowingClient(Redis.from_url(REDIS_URL), "http://127.0.0.1:1", lambda: None, heartbeat_s=5, ttl_s=10)
    entry.start()
    await in_flight.wait()
    entry._task.cancel()
    done, _ = await asyncio.wait({entry._task}, timeout=5)
    assert done and entry._task.cancelled()
    await entry.redis.aclose()


async def test_a_registrar_stops_whenever_it_is_cancelled(redis, prefix):
    """The real client, cancelled at random points of its beats: every registrar stops and its entry expires."""
    rng = random.Random(7)
    for attempt in range(100):
        entry = InferenceRegistrar(Redis.from_url(REDIS_URL), f"http://127.0.0.1:{attempt}",
                                   lambda: ServerLoad(active_streams=0, queue_depth=0),
                                   heartbeat_s=0.005, ttl_s=0.5, prefix=prefix)
        entry.start()
        await asyncio.sleep(rng.random() * 0.03)
        entry._task.cancel()
        done, _ = await asyncio.wait({entry._task}, timeout=5)
        assert done, f"cancel {attempt} was swallowed: the registrar kept beating"
        await entry.redis.aclose()
    await until(lambda: listed(redis, prefix, []), what="every stopped registrar's entry expired")
