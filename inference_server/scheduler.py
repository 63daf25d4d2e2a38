"""One scheduler owns the compute device.

Every model call is a job with a priority. Worker threads (one by default: the models use
the cores themselves) always take the most urgent job; waiting jobs age, so a low-priority
job is never starved. Jobs that share a `batch_key` are micro-batched: when one is taken,
the others queued with the same key ride along in one model call. Long work (a file, an
LLM reply) is submitted as many small jobs so urgent work slips in between them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, TypeVar

from .metrics import Metrics

T = TypeVar("T")
_DONE = object()


class Priority(IntEnum):
    REPLY = 0  # LLM/TTS on the assistant's reply path
    LIVE = 1  # a live utterance's final: its ASR, speaker and emotion (one caption, finished)
    INTERIM = 2  # live ASR of the utterance still being spoken: best effort, superseded soon
    ANALYSIS = 3  # diarization, emotion, embeddings, prefill requested on their own
    BATCH = 4  # file transcription and other bulk work


@dataclass
class _Job:
    priority: Priority
    model: str
    enqueued: float
    seq: int
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    fn: Callable[[], Any] | None = None
    batch_key: str | None = None
    batch_fn: Callable[[list[Any]], list[Any]] | None = None
    item: Any = None
    max_batch: int = 8


class Scheduler:
    def __init__(self, *, workers: int = 1, aging_s: float = 2.0, metrics: Metrics | None = None,
                 device_lock: threading.Lock | None = None) -> None:
        # A job's rank is its priority minus one step per `aging_s` waited: no starvation.
        self._aging_s = aging_s
        self._workers = workers
        self._queue: list[_Job] = []
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._threads: list[threading.Thread] = []
        self._stopped = False
        self.metrics = metrics or Metrics()
        # Shared with other schedulers over the same loaded models (see ModelSet.device_lock).
        self._device_lock = device_lock or contextlib.nullcontext()

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        for i in range(self._workers):
            thread = threading.Thread(target=self._work, name=f"parley-scheduler-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    # --- submitting -----------------------------------------------------------------------

    async def run(self, fn: Callable[[], T], *, priority: Priority, model: str) -> T:
        """Run `fn()` on the device when its turn comes; returns its result."""
        return await self._enqueue(priority=priority, model=model, fn=fn)

    async def run_batched(self, item: Any, batch_fn: Callable[[list[Any]], list[Any]], *,
                          priority: Priority, model: str, batch_key: str | None = None,
                          max_batch: int = 8) -> Any:
        """Run `batch_fn([item, ...])` together with other queued items of the same key."""
        return await self._enqueue(priority=priority, model=model, batch_fn=batch_fn, item=item,
                                   batch_key=batch_key or model, max_batch=max_batch)

    async def iterate(self, make_iterator: Callable[[], Iterator[T]], *, priority: Priority,
                      model: str, steps_per_job: int = 1):
        """Drive a blocking iterator (e.g. LLM tokens), a few steps per job, as an async iterator."""
        holder: list[Iterator[T]] = []

        def step() -> list[Any]:
            if not holder:
                holder.append(make_iterator())
            out: list[Any] = []
            for _ in range(steps_per_job):
                value = next(holder[0], _DONE)
                out.append(value)
                if value is _DONE:
                    break
            return out

        try:
            while True:
                for value in await self.run(step, priority=priority, model=model):
                    if value is _DONE:
                        return
                    yield value
        finally:
            if holder and hasattr(holder[0], "close"):
                # Closing runs the generator's cleanup on the device thread's terms.
                await self.run(holder[0].close, priority=priority, model=model)

    def queue_depth(self) -> dict[Priority, int]:
        with self._cond:
            depth = {p: 0 for p in Priority}
            for job in self._queue:
                depth[job.priority] += 1
            return depth

    async def _enqueue(self, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        job = _Job(enqueued=time.monotonic(), seq=next(self._seq), loop=loop,
                   future=loop.create_future(), **kwargs)
        with self._cond:
            if self._stopped:
                raise RuntimeError("scheduler is stopped")
            self._queue.append(job)
            self.metrics.queue_depth.labels(priority=job.priority.name.lower()).inc()
            self._cond.notify()
        return await job.future

    # --- the device thread ----------------------------------------------------------------

    def _pick(self) -> list[_Job]:
        """The most urgent job (aged), plus queued jobs that batch with it. Holds the lock."""
        now = time.monotonic()
        best = min(self._queue, key=lambda j: (j.priority - (now - j.enqueued) / self._aging_s, j.seq))
        jobs = [best]
        if best.batch_key is not None:
            for other in self._queue:  # FIFO order
                if len(jobs) >= best.max_batch:
                    break
                if other is not best and other.batch_key == best.batch_key:
                    jobs.append(other)
        taken = {id(job) for job in jobs}
        self._queue = [job for job in self._queue if id(job) not in taken]
        for job in jobs:
            self.metrics.queue_depth.labels(priority=job.priority.name.lower()).dec()
        return jobs

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    for job in self._queue:
                        job.loop.call_soon_threadsafe(_fail, job.future, RuntimeError("scheduler stopped"))
                    self._queue.clear()
                    return
                jobs = self._pick()
            self._execute(jobs)

    def _execute(self, jobs: list[_Job]) -> None:
        started = time.monotonic()
        head = jobs[0]
        for job in jobs:
            self.metrics.queue_wait.labels(priority=job.priority.name.lower()).observe(started - job.enqueued)
        try:
            with self._device_lock:
                results = self._call(head, jobs)
        except BaseException as exc:  # noqa: BLE001 - delivered to every waiting caller
            for job in jobs:
                job.loop.call_soon_threadsafe(_fail, job.future, exc)
        else:
            for job, result in zip(jobs, results):
                job.loop.call_soon_threadsafe(_succeed, job.future, result)
        finally:
            self.metrics.model_latency.labels(model=head.model).observe(time.monotonic() - started)

    def _call(self, head: _Job, jobs: list[_Job]) -> list[Any]:
        if head.batch_fn is None:
            return [head.fn()]
        results = head.batch_fn([job.item for job in jobs])
        if len(results) != len(jobs):
            raise RuntimeError(f"batch for {head.model} returned {len(results)} results for {len(jobs)} items")
        self.metrics.batch_size.labels(model=head.model).observe(len(jobs))
        return results


def _succeed(future: asyncio.Future, result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future, exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
