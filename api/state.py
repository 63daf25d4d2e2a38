"""What one API process holds, on `app.state.parley`: settings, the account services (store,
auth, rate limits, embedders), the rooms it hosts, and the inference server's client."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from inference_server.client import InferenceClient, InferenceError
from parley.settings import Settings
from parley.signalling import RoomHost

from .auth.context import AccountServices

HEALTH_CACHE_S = 2.0
HEALTH_TIMEOUT_S = 2.0


@dataclass
class ApiState:
    settings: Settings
    accounts: AccountServices
    rooms: RoomHost
    inference: InferenceClient
    _inference_status: tuple[float, str, str] = field(default=(0.0, "", ""))

    async def inference_status(self) -> tuple[str, str]:
        """("ready" | "loading" | "error" | "unreachable", detail), cached briefly: /health is polled."""
        checked, status, detail = self._inference_status
        if time.monotonic() - checked > HEALTH_CACHE_S:
            try:
                health = await asyncio.wait_for(self.inference.health(), HEALTH_TIMEOUT_S)
                status, detail = health.status, health.detail
            except (InferenceError, TimeoutError, ValueError) as exc:
                status, detail = "unreachable", str(exc)
            self._inference_status = (time.monotonic(), status, detail)
        return status, detail
