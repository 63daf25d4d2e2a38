"""One scheduler owns the compute device.

Every model call is a job with a priority. Worker threads (one by default: the models use
the cores themselves) always take the most urgent job; waiting jobs age, so a low-priority
job is never starved. Jobs that share a `batch_key` are micro-batched: when one is taken,
the others queued with the same key ride along in one model call. Long work (a file, an
LLM reply) is submitted as many small jobs so urgent work slips in between them.

Fair share: every job belongs to a client (`current_client`, set per request or stream).
Within a priority, clients take turns (a client's n-th queued job waits behind every other
client's first), and only a client's first queued job of a priority ages, counted from when it
became first: a flood of 240 jobs from one client lets at most one of them at a time outrank
live captions, never all of them. A waiter that goes away (client disconnected) takes its
queued job out of the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, TypeVar

from .metrics import Metrics

# One line per job at DEBUG (PARLEY_DEBUG_LOGGERS=inference_server.jobs): who waited behind whom on a turn.
job_log = logging.getLogger("inference_server.jobs")

T = TypeVar("T")
_DONE = object()

MAX_BATCH = 8  # clips decoded together in one model call, at most
BACKGROUND_BATCH = 2  # most items in one model call of ANALYSIS or BATCH work

# Who the work is for: a client address, a stream. Jobs submitted in this context carry it.
current_client: ContextVar[str] = ContextVar("parley_client", default="")


class Priority(IntEnum):
    # A final is one short job per utterance and a reply is a stream of them: a final first
    # costs a reply ~0.3 s once, a reply first held a final (and the words that make a barge-in)
    # back for the whole answer, seconds on a loaded CPU.
    LIVE = 0  # a live utterance's final: its ASR, speaker and emotion (one caption, finished)
    REPLY = 1  # LLM/TTS on the assistant's reply path
    INTERIM = 2  # live ASR of the utterance still being spoken: best effort, superseded soon
    ANALYSIS = 3  # diarization, emotion, embeddings, prefill requested on their own
    BATCH = 4  # file transcription and other bulk work


@dataclass(eq=False)
class _Job:
    priority: Priority
    model: str
    enqueued: float
    seq: int
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    client: str
    fn: Callable[[], Any] | None = None
    batch_key: str | None = None
    batch_fn: Callable[[list[Any]], list[Any]] | None = None
    item: Any = None
    max_batch: int = MAX_BATCH


class Scheduler:
    def __init__(self, *, workers: int = 1, aging_s: float = 2.0, metrics: Metrics | None = None,
                 device_lock: threading.Lock | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        # A job's rank is its priority minus one step per `aging_s` waited: no starvation.
        self._aging_s = aging_s
        self._clock = clock
        self._workers = workers
        self._queue: list[_Job] = []
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._threads: list[threading.Thread] = []
        self._stopped = False
        self._running = 0
        # (client, priority) -> when its previous job was served: its next job ages from then.
        self._turn_started: dict[tuple[str, Priority], float] = {}
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
                          max_batch: int = MAX_BATCH) -> Any:
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
                # Closing runs the generator's cleanup on the device thread's terms; it is no model
                # work, so it does not queue behind the reply path it often makes way for.
                await self.run(holder[0].close, priority=min(priority, Priority.REPLY), model=model)

    def queue_depth(self) -> dict[Priority, int]:
        with self._cond:
            depth = {p: 0 for p in Priority}
            for job in self._queue:
                depth[job.priority] += 1
            return depth

    def waiting(self, priority: Priority, *, besides: str = "") -> bool:
        """Whether a job of `priority` or a more urgent one waits, for a client other than `besides`."""
        with self._cond:
            return any(job.priority <= priority and job.client != besides for job in self._queue)

    def busy(self) -> bool:
        """True while any job waits or runs."""
        with self._cond:
            return bool(self._queue) or self._running > 0

    async def _enqueue(self, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        job = _Job(enqueued=self._clock(), seq=next(self._seq), loop=loop,
                   future=loop.create_future(), client=current_client.get(), **kwargs)
        with self._cond:
            if self._stopped:
                raise RuntimeError("scheduler is stopped")
            self._queue.append(job)
            self.metrics.queue_depth.labels(priority=job.priority.name.lower()).inc()
            self._cond.notify()
        try:
            return await job.future
        except asyncio.CancelledError:
            with self._cond:  # nobody waits for it any more: do not spend the device on it
                if job in self._queue:
                    self._queue.remove(job)
                    self.metrics.queue_depth.labels(priority=job.priority.name.lower()).dec()
            raise

    # --- the device thread ----------------------------------------------------------------

    def _pick(self) -> list[_Job]:
        """The most urgent job, plus queued jobs that batch with it. Holds the lock.

        A job's rank is (its priority less one step per `aging_s` it waited as its client's
        first job of that priority, its place in its client's line, arrival).
        """
        now = self._clock()
        place: dict[int, int] = {}
        line: dict[tuple[str, Priority], int] = {}
        for job in self._queue:  # arrival order
            key = (job.client, job.priority)
            place[id(job)] = line.get(key, 0)
            line[key] = place[id(job)] + 1

        def rank(job: _Job) -> tuple[float, int, int]:
            if place[id(job)] > 0:
                return (job.priority, place[id(job)], job.seq)
            since = max(job.enqueued, self._turn_started.get((job.client, job.priority), 0.0))
            return (job.priority - (now - since) / self._aging_s, 0, job.seq)

        best = min(self._queue, key=rank)
        jobs = [best]
        if best.batch_key is not None:
            # Only work as urgent rides along (live captions never pay for background texts), and
            # background batches stay small: a live job waits for at most one short call.
            riders = sorted((j for j in self._queue if j is not best and j.batch_key == best.batch_key
                             and j.priority == best.priority), key=lambda j: (place[id(j)], j.seq))
            size = best.max_batch if best.priority <= Priority.INTERIM else min(best.max_batch, BACKGROUND_BATCH)
            jobs += riders[:size - 1]
        taken = {id(job) for job in jobs}
        self._queue = [job for job in self._queue if id(job) not in taken]
        for job in jobs:
            self.metrics.queue_depth.labels(priority=job.priority.name.lower()).dec()
        return jobs

    def _next_turns(self, jobs: list[_Job]) -> None:
        """The served clients' next jobs age from now, when their service ended. Holds the lock."""
        now = self._clock()
        waiting = {(job.client, job.priority) for job in self._queue}
        for key in {(job.client, job.priority) for job in jobs}:
            if key in waiting:
                self._turn_started[key] = now
            else:  # a later job of theirs ages from its own arrival
                self._turn_started.pop(key, None)

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
                self._running += 1
            try:
                self._execute(jobs)
            finally:
                with self._cond:
                    self._running -= 1
                    self._next_turns(jobs)

    def _execute(self, jobs: list[_Job]) -> None:
        started = time.monotonic()
        head, now = jobs[0], self._clock()
        for job in jobs:
            self.metrics.queue_wait.labels(priority=job.priority.name.lower()).observe(now - job.enqueued)
        try:
            with self._device_lock:
                results = self._call(head, jobs)
        except BaseException as exc:  # noqa: BLE001 - delivered to every waiting caller
            self._ran(jobs, waited=now - head.enqueued, ran=time.monotonic() - started)
            for job in jobs:
                job.loop.call_soon_threadsafe(_fail, job.future, exc)
        else:
            self._ran(jobs, waited=now - head.enqueued, ran=time.monotonic() - started)
            for job, result in zip(jobs, results):
                job.loop.call_soon_threadsafe(_succeed, job.future, result)

    def _ran(self, jobs: list[_Job], *, waited: float, ran: float) -> None:
        """Recorded before the callers hear back: whoever reads the metrics or log next sees this job."""
        head = jobs[0]
        self.metrics.model_latency.labels(model=head.model).observe(ran)
        if job_log.isEnabledFor(logging.DEBUG):
            job_log.debug("%s %s client=%s waited=%.3f ran=%.3f batch=%d", head.model, head.priority.name,
                          head.client or "-", waited, ran, len(jobs))

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
