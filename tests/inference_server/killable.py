"""A real inference server in this process that a test can kill, as a crash would end it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from bench.server import free_port
from inference_server.app import create_app
from inference_server.loader import ModelSet
from parley.settings import Settings


@dataclass
class KillableServer:
    url: str
    app: FastAPI
    _server: uvicorn.Server
    _thread: threading.Thread

    def kill(self) -> None:
        """Drop every connection without a close handshake (TCP reset), then stop listening."""
        for connection in list(self._server.server_state.connections):
            transport = connection.transport
            connection.loop.call_soon_threadsafe(transport.abort)
        self._server.should_exit = True
        self._thread.join(timeout=10)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()


@contextmanager
def killable_server(settings: Settings, models: ModelSet) -> Iterator[KillableServer]:
    port = free_port()
    app = create_app(settings.model_copy(update={"inference_port": port}), models=models)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                          ws_max_size=2**22))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("inference server did not start")
        time.sleep(0.05)
    handle = KillableServer(f"http://127.0.0.1:{port}", app, server, thread)
    try:
        yield handle
    finally:
        if handle.alive:
            server.should_exit = True
            thread.join(timeout=10)
