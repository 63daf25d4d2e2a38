"""What one running inference server holds: settings, metrics, and the engine once loaded."""

from __future__ import annotations

from dataclasses import dataclass, field

from parley.settings import Settings

from .engine import Engine
from .metrics import Metrics


@dataclass
class ServerState:
    settings: Settings
    metrics: Metrics = field(default_factory=Metrics)
    engine: Engine | None = None
    device: str = "cpu"
    threads: int = 1
    load_error: str = ""
