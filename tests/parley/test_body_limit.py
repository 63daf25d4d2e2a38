"""Body limits hold while the body is read: a chunked body is cut off at about the limit."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI, File, UploadFile
from pydantic import BaseModel

from parley.compose import create_embedded_app as create_api
from parley.body_limit import BodyLimit, limits_by_content_type
from parley.settings import Settings

CHUNK = 64 * 1024
LIMIT_MB = 1.0


class Counted:
    """A request body of `total` bytes sent in chunks, counting how much the server pulled."""

    def __init__(self, total: int, prefix: bytes = b"") -> None:
        self.total, self.prefix, self.consumed = total, prefix, 0

    async def __aiter__(self):
        yield self.prefix
        self.consumed += len(self.prefix)
        while self.consumed < self.total:
            self.consumed += CHUNK
            yield b"x" * CHUNK


class Text(BaseModel):
    text: str


def _app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(BodyLimit, limit_for=limits_by_content_type(LIMIT_MB, "PARLEY_MAX_UPLOAD_MB", LIMIT_MB))

    @app.post("/json")
    async def json_route(body: Text) -> dict:
        return {"length": len(body.text)}

    @app.post("/upload")
    async def upload_route(file: UploadFile = File(...)) -> dict:
        return {"length": len(await file.read())}

    return app


@pytest.fixture
async def client():
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://test") as http:
        yield http


def _assert_413(response: httpx.Response, setting: str) -> None:
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "request_too_large"
    assert setting in error["message"] and "1 MB" in error["message"]


async def test_a_declared_size_over_the_limit_is_refused_before_reading(client):
    body = Counted(100 * 2**20)
    response = await client.post("/json", content=body, headers={
        "content-type": "application/json", "content-length": str(100 * 2**20)})
    _assert_413(response, "PARLEY_MAX_JSON_MB")
    assert body.consumed == 0


async def test_a_chunked_json_body_is_cut_off_at_the_limit(client):
    body = Counted(100 * 2**20, prefix=b'{"text": "')
    response = await client.post("/json", content=body, headers={"content-type": "application/json"})
    _assert_413(response, "PARLEY_MAX_JSON_MB")
    assert body.consumed <= LIMIT_MB * 2**20 + 2 * CHUNK


async def test_a_chunked_upload_is_cut_off_at_the_limit(client):
    head = b"--b\r\ncontent-disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\n"
    body = Counted(100 * 2**20, prefix=head)
    response = await client.post("/upload", content=body,
                                 headers={"content-type": "multipart/form-data; boundary=b"})
    _assert_413(response, "PARLEY_MAX_UPLOAD_MB")
    assert body.consumed <= LIMIT_MB * 2**20 + 64 * 1024 + 2 * CHUNK


async def test_bodies_within_the_limit_pass(client):
    response = await client.post("/json", json={"text": "y" * 500_000})
    assert response.status_code == 200 and response.json() == {"length": 500_000}
    response = await client.post("/upload", files={"file": ("a.wav", b"z" * 900_000)})
    assert response.status_code == 200 and response.json() == {"length": 900_000}


async def test_the_api_refuses_a_huge_anonymous_login_while_reading_it(tmp_path):
    app = create_api(Settings(data_dir=tmp_path, max_json_mb=LIMIT_MB, _env_file=None))
    body = Counted(100 * 2**20, prefix=b'{"email": "')
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        response = await http.post("/api/auth/login", content=body, headers={"content-type": "application/json"})
    _assert_413(response, "PARLEY_MAX_JSON_MB")
    assert body.consumed <= LIMIT_MB * 2**20 + 2 * CHUNK
