"""The scheduler: priority order, micro-batching, no starvation, streaming jobs interleave."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from inference_server.scheduler import Priority, Scheduler, current_client
from parley.logs import setup_logging
from parley.settings import Settings
from tests.waiting import until


@pytest.fixture
async def scheduler():
    s = Scheduler(aging_s=0.5)
    s.start()
    yield s
    s.stop()


def blocker(gate: threading.Event):
    return lambda: gate.wait(5)


async def test_most_urgent_job_runs_first(scheduler: Scheduler):
    order = []
    gate, busy = await _occupy(scheduler)
    jobs = [asyncio.create_task(scheduler.run(lambda p=p: order.append(p), priority=p, model="m"))
            for p in (Priority.BATCH, Priority.ANALYSIS, Priority.INTERIM, Priority.LIVE, Priority.REPLY)]
    await until(lambda: _queued(scheduler) == 5)
    gate.set()
    await asyncio.gather(busy, *jobs)
    assert order == [Priority.LIVE, Priority.REPLY, Priority.INTERIM, Priority.ANALYSIS, Priority.BATCH]


async def test_queued_items_with_one_key_share_one_call(scheduler: Scheduler):
    calls = []
    gate, busy = await _occupy(scheduler)

    def double(items):
        calls.append(list(items))
        return [i * 2 for i in items]

    jobs = [asyncio.create_task(scheduler.run_batched(i, double, priority=Priority.LIVE, model="asr"))
            for i in range(5)]
    await until(lambda: _queued(scheduler) == 5)
    gate.set()
    assert await asyncio.gather(*jobs) == [0, 2, 4, 6, 8]
    await busy
    assert calls == [[0, 1, 2, 3, 4]]


async def test_a_waiting_batch_job_is_not_starved_by_a_flood_of_live_work():
    clock = Clock()
    scheduler = Scheduler(aging_s=0.5, clock=clock)
    scheduler.start()
    served: list[str] = []

    def live() -> None:
        clock.now += 0.02  # each live call takes 20 ms of the test's clock
        served.append("live")

    async def live_flood() -> None:
        while "batch" not in served and len(served) < 1000:  # without aging: 20 s of live work, then give up
            await asyncio.gather(*(scheduler.run(live, priority=Priority.LIVE, model="asr") for _ in range(3)))

    flood = asyncio.create_task(live_flood())
    await until(lambda: served)
    submitted = clock.now
    try:
        await scheduler.run(lambda: served.append("batch"), priority=Priority.BATCH, model="file")
        waited = clock.now - submitted
        await flood
    finally:
        scheduler.stop()
    assert waited < 2.5  # aged past the live work (one step per aging_s) while it still poured in


async def test_urgent_work_runs_between_steps_of_a_long_iterator(scheduler: Scheduler):
    events: list[str] = []

    def tokens():
        for i in range(6):
            time.sleep(0.02)
            events.append(f"token{i}")
            yield i

    async def consume():
        return [t async for t in scheduler.iterate(tokens, priority=Priority.BATCH, model="llm")]

    generation = asyncio.create_task(consume())
    await until(lambda: events)  # the generation is under way
    await scheduler.run(lambda: events.append("live"), priority=Priority.LIVE, model="asr")
    assert await generation == list(range(6))
    assert 0 < events.index("live") < len(events) - 1


async def test_an_exception_reaches_only_its_caller(scheduler: Scheduler):
    def boom():
        raise ValueError("bad clip")

    with pytest.raises(ValueError, match="bad clip"):
        await scheduler.run(boom, priority=Priority.LIVE, model="asr")
    assert await scheduler.run(lambda: 42, priority=Priority.LIVE, model="asr") == 42


async def test_schedulers_sharing_a_device_lock_never_run_models_at_once():
    """Several servers over one loaded model set (tests, benchmarks): llama.cpp must see one
    thread at a time, or it crashes the process."""
    lock, running, overlaps = threading.Lock(), [], []

    def job():
        running.append(1)
        overlaps.append(len(running))
        time.sleep(0.01)
        running.pop()

    first, second = Scheduler(device_lock=lock), Scheduler(device_lock=lock)
    first.start(), second.start()
    try:
        await asyncio.gather(*(s.run(job, priority=Priority.LIVE, model="m")
                               for _ in range(10) for s in (first, second)))
    finally:
        first.stop(), second.stop()
    assert len(overlaps) == 20 and max(overlaps) == 1


class Clock:
    """The scheduler's clock, moved by the test: aging without sleeping."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _submit(scheduler: Scheduler, clock: Clock, client: str, name: str, order: list[str],
                  priority: Priority):
    current_client.set(client)

    def job() -> None:
        order.append(name)
        clock.now += 0.01  # each job takes 10 ms of the test's clock

    await scheduler.run(job, priority=priority, model="m")


@pytest.fixture
async def clocked():
    clock = Clock()
    s = Scheduler(aging_s=2.0, clock=clock)
    s.start()
    yield s, clock
    s.stop()


async def test_debug_loggers_show_every_job_with_its_wait_in_the_log(tmp_path):
    clock = Clock()
    scheduler = Scheduler(clock=clock)
    scheduler.start()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers.clear()  # set-up replaces (and closes) the root's handlers: pytest's are put back after
    try:
        setup_logging(Settings(data_dir=tmp_path, debug_loggers="inference_server.jobs"), console=False)
        gate, busy = await _occupy(scheduler)
        token = current_client.set("stream:7")
        reply = asyncio.create_task(scheduler.run(lambda: "token", priority=Priority.REPLY, model="llm"))
        current_client.reset(token)
        await until(lambda: _queued(scheduler) == 1)
        clock.now += 1.25  # the reply waits this long behind the busy job
        gate.set()
        assert await reply == "token"
        await busy
    finally:
        scheduler.stop()
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.getLogger("inference_server.jobs").setLevel(logging.NOTSET)
    lines = (tmp_path / "logs" / "parley.log").read_text().splitlines()
    [line] = [line for line in lines if " llm REPLY " in line]
    assert "DEBUG inference_server.jobs" in line and "client=stream:7 waited=1.250" in line


async def _occupy(scheduler: Scheduler) -> tuple[threading.Event, asyncio.Task]:
    gate = threading.Event()
    busy = asyncio.create_task(scheduler.run(blocker(gate), priority=Priority.BATCH, model="m"))
    await until(lambda: scheduler.busy() and not sum(scheduler.queue_depth().values()))
    return gate, busy


def _queued(scheduler: Scheduler) -> int:
    return sum(scheduler.queue_depth().values())


async def _queue(scheduler: Scheduler, clock: Clock, jobs: list[tuple[str, str, Priority]],
                 order: list[str]) -> list[asyncio.Task]:
    before = sum(scheduler.queue_depth().values())
    tasks = [asyncio.create_task(_submit(scheduler, clock, client, name, order, priority))
             for client, name, priority in jobs]
    await until(lambda: sum(scheduler.queue_depth().values()) == before + len(jobs))
    return tasks


async def test_a_flooding_client_queues_behind_another_client(clocked):
    scheduler, clock = clocked
    order: list[str] = []
    gate, busy = await _occupy(scheduler)
    tasks = await _queue(scheduler, clock, [("http:flooder", f"A{i}", Priority.ANALYSIS) for i in range(20)], order)
    clock.now = 0.5
    tasks += await _queue(scheduler, clock, [("http:other", "B0", Priority.ANALYSIS)], order)
    gate.set()
    await asyncio.gather(busy, *tasks)
    assert order == ["A0", "B0"] + [f"A{i}" for i in range(1, 20)]


async def test_an_old_flood_never_queues_in_front_of_live_captions(clocked):
    scheduler, clock = clocked
    order: list[str] = []
    gate, busy = await _occupy(scheduler)
    tasks = await _queue(scheduler, clock, [("http:flooder", f"A{i}", Priority.ANALYSIS) for i in range(20)], order)
    clock.now = 60.0  # the flood has waited long: by age alone every job of it would outrank live work
    tasks += await _queue(scheduler, clock, [("stream:1", f"L{i}", Priority.LIVE) for i in range(5)], order)
    gate.set()
    await asyncio.gather(busy, *tasks)
    # Only the flood's first job had aged as its client's turn; the rest wait behind the captions.
    assert order == ["A0"] + [f"L{i}" for i in range(5)] + [f"A{i}" for i in range(1, 20)]


async def test_a_cancelled_waiter_takes_its_job_out_of_the_queue(clocked):
    scheduler, clock = clocked
    order: list[str] = []
    gate, busy = await _occupy(scheduler)
    [abandoned] = await _queue(scheduler, clock, [("http:gone", "X", Priority.ANALYSIS)], order)
    abandoned.cancel()
    await until(lambda: not sum(scheduler.queue_depth().values()))
    kept = await _queue(scheduler, clock, [("http:here", "Y", Priority.ANALYSIS)], order)
    gate.set()
    await asyncio.gather(busy, *kept)
    await until(lambda: not scheduler.busy())
    assert order == ["Y"]


async def test_live_work_never_batches_with_background_work(clocked):
    scheduler, clock = clocked
    calls: list[list[str]] = []

    def classify(items: list[str]) -> list[str]:
        calls.append(list(items))
        return items

    async def submit(client: str, item: str, priority: Priority) -> str:
        current_client.set(client)
        return await scheduler.run_batched(item, classify, priority=priority, model="emotion")

    gate, busy = await _occupy(scheduler)
    flood = [asyncio.create_task(submit("http:flooder", f"A{i}", Priority.ANALYSIS)) for i in range(6)]
    live = [asyncio.create_task(submit("stream:1", "L0", Priority.LIVE))]
    await until(lambda: sum(scheduler.queue_depth().values()) == 7)
    gate.set()
    await asyncio.gather(busy, *flood, *live)
    assert calls == [["L0"], ["A0", "A1"], ["A2", "A3"], ["A4", "A5"]]


async def test_waiting_tells_whether_another_clients_urgent_work_is_queued(clocked):
    scheduler, clock = clocked
    order: list[str] = []
    gate, busy = await _occupy(scheduler)
    assert not scheduler.waiting(Priority.INTERIM)
    tasks = await _queue(scheduler, clock, [("stream:1", "I", Priority.INTERIM), ("http:a", "B", Priority.BATCH)],
                         order)
    assert scheduler.waiting(Priority.INTERIM, besides="stream:2")
    assert not scheduler.waiting(Priority.INTERIM, besides="stream:1")  # its own decode
    assert not scheduler.waiting(Priority.LIVE, besides="stream:2")  # nothing as urgent as a final
    gate.set()
    await asyncio.gather(busy, *tasks)
    assert not scheduler.waiting(Priority.BATCH)
