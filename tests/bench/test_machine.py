"""A benchmark's report says how much CPU the hypervisor took while it ran."""

from __future__ import annotations

from bench import machine
from bench.machine import MachineWatch

# user nice system idle iowait irq softirq steal guest guest_nice
_BEFORE = "cpu  1000 0 200 5000 10 0 5 100 0 0\ncpu0 ...\n"
_AFTER = "cpu  1300 0 250 5300 10 0 5 200 0 0\ncpu0 ...\n"  # 750 ticks later, 100 of them stolen


def test_the_steal_share_covers_the_time_since_the_watch_started(tmp_path, monkeypatch):
    stat = tmp_path / "stat"
    stat.write_text(_BEFORE)
    monkeypatch.setattr(machine, "_STAT", stat)
    watch = MachineWatch()
    stat.write_text(_AFTER)
    report = watch.describe()
    assert report["steal_share"] == round(100 / 750, 3)
    assert report["cpus"] >= 1


def test_no_proc_stat_reports_no_steal_share_rather_than_failing(tmp_path, monkeypatch):
    monkeypatch.setattr(machine, "_STAT", tmp_path / "missing")
    assert MachineWatch().describe()["steal_share"] is None
