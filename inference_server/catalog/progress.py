"""A thin wrapper over rich's progress bars that can also be switched off (tests, --quiet)."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress


def _human(n: float, unit: str) -> str:
    if unit != "bytes":
        return f"{n:.0f}"
    for suffix in ("B", "KB", "MB", "GB"):
        if n < 1000 or suffix == "GB":
            return f"{n:.0f} {suffix}" if suffix == "B" else f"{n:.1f} {suffix}"
        n /= 1000
    return f"{n:.1f} GB"


class Progress:
    """One bar per step of each model: download, extract + sha256, hash."""

    def __init__(self, enabled: bool = True, console: Console | None = None) -> None:
        self._rich = RichProgress(
            TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
            console=console or Console(stderr=True),
        ) if enabled else None
        self._units: dict[object, str] = {}

    def __enter__(self) -> Progress:
        if self._rich is not None:
            self._rich.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._rich is not None:
            self._rich.stop()

    def note(self, message: str) -> None:
        if self._rich is not None:
            self._rich.console.print(message, soft_wrap=True)

    def add(self, description: str, total: float | None, unit: str) -> object:
        if self._rich is None:
            return None
        task = self._rich.add_task(description, total=total, info="")
        self._units[task] = unit
        self._refresh(task)
        return task

    def advance(self, task: object, amount: float) -> None:
        if self._rich is not None and task is not None:
            self._rich.advance(task, amount)  # rich's Progress is thread-safe
            self._refresh(task)

    def finish(self, task: object) -> None:
        if self._rich is not None and task is not None:
            total = self._state(task).total or 1
            self._rich.update(task, total=total, completed=total)

    def _state(self, task: object):
        return next(t for t in self._rich.tasks if t.id == task)

    def _refresh(self, task: object) -> None:
        state = self._state(task)
        unit = self._units[task]
        if state.total is None or not unit:
            return
        info = f"{_human(state.completed, unit)}/{_human(state.total, unit)}"
        self._rich.update(task, info=info + ("" if unit == "bytes" else f" {unit}"))
