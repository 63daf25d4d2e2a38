"""A clock the test moves by hand, for code that takes a `clock` callable."""

from __future__ import annotations


class ManualClock:
    def __init__(self, now: float = 999_980.0) -> None:  # 20 s into a minute-long window
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
