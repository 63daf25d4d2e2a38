"""Property-based run of the whole API against its own OpenAPI spec (schemathesis), signed in:
whatever the generated paths, queries and bodies, the API never answers 5xx.

The API is served for real (uvicorn in a thread: its lifespan opens the store); embeddings come
from a stub at the account services' seam, so the inference server's absence (a documented
503) does not hide the API's own failures. Examples are bounded to keep the run short.
"""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings

from parley.compose import create_embedded_app
from parley.settings import Settings
from tests.api.word_embedder import WordEmbedder

PASSWORD = "the schemathesis admin password"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    config = Settings(data_dir=tmp_path_factory.mktemp("api"), inference_url="http://127.0.0.1:9",
                      admin_password=PASSWORD, rate_limit_per_minute=100_000, login_rate_limit_per_minute=100_000,
                      _env_file=None)
    app = create_embedded_app(config)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    app.state.parley.accounts.embedder = app.state.parley.accounts.voices = WordEmbedder()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    token = httpx.post(f"{url}/api/auth/login", json={"email": "admin@parley.local", "password": PASSWORD}
                       ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    httpx.post(f"{url}/api/rooms", headers=headers, json={"name": "team"})  # something for ids to hit
    yield url, headers
    server.should_exit = True
    thread.join(timeout=10)


SKIPPED = {"/api/auth/logout", "/api/auth/password"}  # they end the sign-in this run uses (tests/api/accounts)


def test_no_generated_request_gets_a_server_error(served):
    url, headers = served
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    failures: list[str] = []
    operations = 0
    statuses: set[int] = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in SKIPPED:
            continue
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def server_never_fails(case) -> None:
            response = case.call(base_url=url, headers=headers, timeout=30)
            statuses.add(response.status_code)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}")

        try:
            server_never_fails()
        except AssertionError as exc:  # the minimal failing example of this operation
            failures.append(str(exc).splitlines()[0])
    assert operations > 25 and {200, 201} <= statuses  # signed in: generated requests get through
    assert not failures, "\n".join(failures)
