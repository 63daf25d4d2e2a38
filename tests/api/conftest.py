from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable

import pytest
import uvicorn

from agent.testing import FakeInferenceServer
from parley.compose import create_embedded_app
from parley.settings import Settings


@pytest.fixture
async def fake_inference():
    server = FakeInferenceServer([("hello everyone", "S1"), ("someone else on my microphone", "S2")])
    await server.start()
    yield server
    await server.stop()


ADMIN_PASSWORD = "the test admin password"


class ParleyServers:
    """Starts APIs in this event loop on free ports over one data dir; WebRTC stays on 127.0.0.1
    (loopback seam). Their admin's password is in PARLEY_ADMIN_PASSWORD, where RoomClient finds it."""

    def __init__(self, data_dir) -> None:
        self.data_dir = data_dir
        self._servers: dict[str, tuple[uvicorn.Server, asyncio.Task]] = {}

    async def __call__(self, *, clock: Callable[[], float] = time.monotonic, **overrides) -> str:
        """`clock` times the rooms' peer timeouts; `overrides` are settings."""
        settings = Settings(data_dir=self.data_dir, webrtc_loopback_only=True, login_rate_limit_per_minute=1000,
                            **overrides)
        app = create_embedded_app(settings, clock=clock)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.02)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._servers[url] = (server, task)
        return url

    def stop(self, url: str) -> asyncio.Task:
        """Tell the API at `url` to stop now (as SIGTERM does); the task ends when it has stopped."""
        server, task = self._servers.pop(url)
        server.should_exit = True
        return task

    async def stop_all(self) -> None:
        for url in list(self._servers):
            await self.stop(url)


@pytest.fixture
async def start_parley(tmp_path, monkeypatch):
    monkeypatch.setenv("PARLEY_ADMIN_PASSWORD", ADMIN_PASSWORD)
    servers = ParleyServers(tmp_path)
    yield servers
    await servers.stop_all()
