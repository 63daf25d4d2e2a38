from __future__ import annotations

import asyncio
import socket

import pytest
import uvicorn

from agent.testing import FakeInferenceServer
from api.app import create_app
from parley.settings import Settings


@pytest.fixture
async def fake_inference():
    server = FakeInferenceServer([("hello everyone", "S1"), ("someone else on my microphone", "S2")])
    await server.start()
    yield server
    await server.stop()


ADMIN_PASSWORD = "the test admin password"


@pytest.fixture
async def start_parley(tmp_path, monkeypatch):
    """Serve the API in this event loop on a free port; WebRTC stays on 127.0.0.1 (loopback seam).
    Its admin's password is in PARLEY_ADMIN_PASSWORD, where RoomClient finds it to sign in."""
    servers: list[tuple[uvicorn.Server, asyncio.Task]] = []
    monkeypatch.setenv("PARLEY_ADMIN_PASSWORD", ADMIN_PASSWORD)

    async def start(**overrides) -> str:
        settings = Settings(data_dir=tmp_path, webrtc_loopback_only=True, login_rate_limit_per_minute=1000,
                            **overrides)
        server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on"))
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.02)
        servers.append((server, task))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    yield start
    for server, task in servers:
        server.should_exit = True
        await task
