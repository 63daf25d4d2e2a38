"""What every loaded model backend shares."""

from __future__ import annotations

from abc import ABC
from dataclasses import dataclass


@dataclass(frozen=True)
class Capabilities:
    """Capability flags, as livekit-agents' `STTCapabilities` etc.: what the backend can do."""

    batching: bool = False  # one call can serve several inputs (micro-batching across streams)
    streaming: bool = False  # results come out incrementally


class ModelBackend(ABC):
    """A loaded model: its catalog name, backend id, where it came from and where it runs."""

    capability: str = ""
    backend: str = ""

    def __init__(self, name: str, *, path: str | None = None, device: str = "cpu",
                 capabilities: Capabilities = Capabilities()) -> None:
        self.name = name
        self.path = path
        self.device = device
        self.capabilities = capabilities

    def close(self) -> None:
        """Free native resources now rather than at interpreter exit."""
