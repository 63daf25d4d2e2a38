"""`parley up` as a child process on free ports, for benchmarks and end-to-end tests.

Each run gets a fresh store and accounts (a temporary data directory sharing only the
prepared models) and an admin whose password is PARLEY_ADMIN_PASSWORD (`BENCH_ADMIN_PASSWORD`
unless set), so clients sign in with `bench.room_access.Account.from_env()`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

BENCH_ADMIN_PASSWORD = "parley bench admin"


class ParleyFailed(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class RunningParley:
    url: str
    process: asyncio.subprocess.Process
    data_dir: Path
    log: Path  # its console output


@asynccontextmanager
async def running_parley(env: dict[str, str] | None = None, *, ready_timeout: float = 300.0,
                         wait_for_models: bool = True) -> AsyncIterator[RunningParley]:
    """Start `parley up` (loopback ICE), wait until it serves (and its models are loaded)."""
    port, inference_port = free_port(), free_port()
    os.environ.setdefault("PARLEY_ADMIN_PASSWORD", BENCH_ADMIN_PASSWORD)  # the clients in this process sign in
    data_dir = _fresh_data_dir(Path(os.environ.get("PARLEY_DATA_DIR", Path.home() / ".parley")))
    child_env = {**os.environ, "PARLEY_WEBRTC_LOOPBACK_ONLY": "1", "PARLEY_INFERENCE_PORT": str(inference_port),
                 "PARLEY_DATA_DIR": str(data_dir), "PARLEY_LOGIN_RATE_LIMIT_PER_MINUTE": "1000", **(env or {})}
    log = Path(tempfile.mkstemp(prefix="parley-up-", suffix=".log")[1])
    with log.open("wb") as sink:  # noqa: ASYNC230 - a local temp file, opened once
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "parley", "up", "--port", str(port),
            env=child_env, stdout=sink, stderr=asyncio.subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_ready(url, process, log, ready_timeout, wait_for_models)
        yield RunningParley(url, process, data_dir, log)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


def _fresh_data_dir(prepared: Path) -> Path:
    """A temporary data directory whose models (and download cache) are the prepared ones."""
    fresh = Path(tempfile.mkdtemp(prefix="parley-data-"))
    for shared in ("models", "cache"):
        if (prepared / shared).exists():
            (fresh / shared).symlink_to(prepared / shared)
    return fresh


async def _wait_ready(url: str, process: asyncio.subprocess.Process, log: Path, timeout: float,
                      wait_for_models: bool) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=url, timeout=2) as http:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise ParleyFailed(f"parley up exited with code {process.returncode}:\n{_tail(log)}")
            try:
                health = (await http.get("/health")).json()
                if not wait_for_models or health["inference"] == "ready":
                    return
                if health["inference"] == "error":
                    raise ParleyFailed(f"the inference server failed: {health['inference_detail']}")
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.5)
    raise ParleyFailed(f"parley up was not ready within {timeout:.0f} s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
