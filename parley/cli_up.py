"""`parley up`: the whole embedded Parley on one machine.

The API (with the page, the rooms and their agents) runs in this process; the inference
server runs as a supervised child process on 127.0.0.1 with a per-run token, restarted if
it dies (docs/decisions.md, "parley up: inference server as a child process").
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import secrets
import signal
import socket
import sys

import typer
from pydantic import SecretStr

from .backoff import Backoff
from .logs import setup_logging
from .settings import Settings, process_settings

log = logging.getLogger("parley.up")

RESTART_DELAYS_S = (1.0, 2.0, 5.0, 10.0)
STOP_TIMEOUT_S = 10.0


def up(host: str = typer.Option(None, help="Bind address of the page and API (default PARLEY_HOST, 127.0.0.1)."),
       port: int = typer.Option(None, help="Port of the page and API (default PARLEY_PORT, 8000).")) -> None:
    """Run Parley here: the page, the API, the agent and the inference server."""
    settings = process_settings()
    settings.host = host or settings.host
    settings.port = port or settings.port
    setup_logging(settings)
    for what, bind_host, bind_port in _ports_to_bind(settings):
        if not _port_free(bind_host, bind_port):
            typer.echo(f"error: {bind_host}:{bind_port} ({what}) is already in use; "
                       f"choose another with {'--port' if what == 'page and API' else 'PARLEY_INFERENCE_PORT'}",
                       err=True)
            raise typer.Exit(1)
    asyncio.run(_serve(settings))


def _ports_to_bind(settings: Settings) -> list[tuple[str, str, int]]:
    ports = [("page and API", settings.host, settings.port)]
    if not settings.inference_url:
        ports.append(("inference server", settings.inference_host, settings.inference_port))
    return ports


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


async def _serve(settings: Settings) -> None:
    import uvicorn

    from parley.compose import create_embedded_app

    inference = None
    if not settings.inference_url:  # a configured remote inference server is used as it is
        settings.inference_host = "127.0.0.1"
        settings.inference_token = settings.inference_token or SecretStr(secrets.token_urlsafe(24))
        inference = InferenceProcess(settings)
        await inference.start()
    server = uvicorn.Server(uvicorn.Config(create_embedded_app(settings), host=settings.host, port=settings.port,
                                           log_level=settings.log_level.lower(), log_config=None))
    log.info("Parley is starting at http://%s:%d (live captions once the models are loaded)",
             settings.host, settings.port)
    try:
        await server.serve()
    finally:
        if inference is not None:
            await inference.stop()


class InferenceProcess:
    """The inference server as a child process: started, restarted after a crash, stopped."""

    def __init__(self, settings: Settings) -> None:
        self._env = {**os.environ,
                     "PARLEY_INFERENCE_HOST": settings.inference_host,
                     "PARLEY_INFERENCE_PORT": str(settings.inference_port),
                     "PARLEY_INFERENCE_TOKEN": settings.inference_token.get_secret_value()}
        self._process: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task | None = None
        self._stopping = False

    async def start(self) -> None:
        await self._spawn()
        self._supervisor = asyncio.create_task(self._supervise())

    async def _spawn(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "parley", "inference",
            env=self._env, preexec_fn=_die_with_parent)
        log.info("inference server started (pid %d)", self._process.pid)

    async def _supervise(self) -> None:
        backoff = Backoff(RESTART_DELAYS_S)
        while not self._stopping:
            code = await self._process.wait()
            if self._stopping:
                return
            delay = backoff.next_delay()
            log.error("inference server exited with code %s; restarting in %.0f s "
                      "(captions pause meanwhile, the rooms keep working)", code, delay)
            await asyncio.sleep(delay)
            await self._spawn()

    async def stop(self) -> None:
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if `parley up` is killed outright, so no server is orphaned."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
