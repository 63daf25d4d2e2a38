"""Waits between the tries of something that keeps failing: the one backoff rule of every retry loop.

A schedule of delays whose last one repeats: the n-th failure in a row waits `delays[n]`, and a
success (`reset`) starts the schedule over. Each caller keeps its own schedule: captions
reconnect quickly, the transcript writer sooner still, `parley up` restarts a crashed
inference server more patiently.
"""

from __future__ import annotations

from collections.abc import Sequence


class Backoff:
    def __init__(self, delays: Sequence[float]) -> None:
        if not delays:
            raise ValueError("a backoff needs at least one delay")
        self.delays = tuple(delays)
        self.failures = 0  # in a row, since the last success

    def next_delay(self) -> float:
        """One more failure: how long to wait before the next try."""
        delay = self.delays[min(self.failures, len(self.delays) - 1)]
        self.failures += 1
        return delay

    def reset(self) -> None:
        """It worked: the next failure waits the first delay again."""
        self.failures = 0
