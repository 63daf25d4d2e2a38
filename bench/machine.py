"""What the machine was doing while a benchmark ran: cores, load, and time stolen by the hypervisor.

On a shared VM the hypervisor can take a third of the CPU from one minute to the next (`st`
in top); a benchmark that reports its steal share says how far its times can be compared
with another run's.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

_STAT = Path("/proc/stat")


def _cpu_ticks() -> tuple[int, int] | None:
    """(steal, total) jiffies of all CPUs since boot; None where /proc/stat is missing."""
    try:
        fields = _STAT.read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    ticks = [int(value) for value in fields[1:9]]  # user nice system idle iowait irq softirq steal
    return ticks[7], sum(ticks)


class MachineWatch:
    """Started when the benchmark starts; `describe()` covers the time since."""

    def __init__(self) -> None:
        self._start = _cpu_ticks()

    def steal_share(self) -> float | None:
        end = _cpu_ticks()
        if self._start is None or end is None or end[1] <= self._start[1]:
            return None
        return round((end[0] - self._start[0]) / (end[1] - self._start[1]), 3)

    def describe(self) -> dict:
        return {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2),
                "cpu": platform.processor() or platform.machine(), "steal_share": self.steal_share()}
