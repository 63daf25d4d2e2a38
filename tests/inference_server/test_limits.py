"""Every request's cost is bounded: bodies cut off while read, texts, audio and prompts capped,
abandoned work cancelled. Against a real server with the real models."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest
from pydantic import SecretStr

from bench.server import running_server as serve
from inference_server.audio import encode_wav
from inference_server.client import InferenceClient, InferenceError
from tests.waiting import until

pytestmark = pytest.mark.slow

MB = 2**20


@pytest.fixture(scope="module")
def small_limits(model_settings, models):
    tight = model_settings.model_copy(update={
        "max_upload_mb": 1.0, "max_json_mb": 1.0, "max_audio_s": 5.0, "max_text_chars": 200, "max_items": 4,
        "inference_token": SecretStr("s3cret")})
    with serve(tight, models) as url:
        yield url


AUTH = {"Authorization": "Bearer s3cret"}


async def _chunked_post(url: str, path: str, content_type: str, head: bytes, total: int, *,
                        piece: bytes = b"x" * 65536) -> tuple[int | None, dict | None, int]:
    """POST `total` bytes with Transfer-Encoding: chunked and no token; (status, body, bytes sent)."""
    address = urlsplit(url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.write(f"POST {path} HTTP/1.1\r\nHost: {address.netloc}\r\nTransfer-Encoding: chunked\r\n"
                 f"Content-Type: {content_type}\r\n\r\n".encode())
    writer.write(f"{len(head):x}\r\n".encode() + head + b"\r\n")
    sent = len(head)

    async def send() -> None:
        nonlocal sent
        try:
            while sent < total:
                writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                await writer.drain()
                sent += len(piece)
        except (ConnectionError, OSError):
            pass  # the server answered and closed: what was sent so far is all it saw or less

    sender = asyncio.create_task(send())
    try:
        status = int((await reader.readline()).split()[1])
        headers = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = json.loads(await reader.readexactly(int(headers["content-length"])))
    except (ConnectionError, asyncio.IncompleteReadError):
        # The server answered and closed while we were still sending: TCP then resets, and the
        # reset can discard the unread answer. The early close is the refusal; `sent` says when.
        status, body = None, None
    sender.cancel()
    writer.close()
    return status, body, sent


@pytest.mark.parametrize("path,content_type,head", [
    ("/v1/audio/transcriptions", "multipart/form-data; boundary=b",
     b'--b\r\ncontent-disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'),
    ("/v1/emotion", "application/json", b'{"texts": ["'),
])
async def test_a_chunked_body_over_the_limit_is_refused_while_read_before_auth(small_limits, path, content_type, head):
    total = 512 * MB
    status, body, sent = await _chunked_post(small_limits, path, content_type, head, total)
    if status is not None:  # else the connection was reset after the refusal (see _chunked_post)
        assert status == 413 and body["error"]["code"] == "request_too_large" and "1 MB" in body["error"]["message"]
    # Socket buffers hold a few MB more than the server read; the rest of the 512 MB was never sent.
    assert sent < 64 * MB
    assert httpx.get(f"{small_limits}/health").status_code == 200


def test_texts_per_request_and_characters_per_text_are_capped(small_limits):
    for route, field in (("/v1/emotion", "texts"), ("/v1/embeddings", "input")):
        many = httpx.post(f"{small_limits}{route}", json={field: ["hi"] * 5}, headers=AUTH, timeout=30)
        assert many.status_code == 400 and many.json()["error"]["code"] == "too_many_inputs"
        assert "PARLEY_MAX_ITEMS" in many.json()["error"]["message"]
        long = httpx.post(f"{small_limits}{route}", json={field: ["ok", "y" * 201]}, headers=AUTH, timeout=30)
        assert long.status_code == 400 and long.json()["error"]["code"] == "input_too_long"
        assert f"{field}[1]" in long.json()["error"]["message"]
        fine = httpx.post(f"{small_limits}{route}", json={field: ["fine"] * 4}, headers=AUTH, timeout=30)
        assert fine.status_code == 200


@pytest.mark.parametrize("route", ["/v1/audio/transcriptions", "/v1/speakers/embed"])
def test_audio_longer_than_the_limit_is_refused(small_limits, route):
    # 60 s of silence: a small FLAC would do the same; the limit is on duration, not bytes.
    silence = encode_wav(np.zeros(16000 * 60, dtype=np.int16), 16000)
    silence_flac = _flac(silence)
    assert len(silence_flac) < 200_000
    r = httpx.post(f"{small_limits}{route}", files={"file": ("long.flac", silence_flac)}, headers=AUTH, timeout=60)
    assert r.status_code == 413 and r.json()["error"]["code"] == "audio_too_long"
    assert "5 s" in r.json()["error"]["message"] and "PARLEY_MAX_AUDIO_S" in r.json()["error"]["message"]


def _flac(wav: bytes) -> bytes:
    import io

    import av

    out = io.BytesIO()
    with av.open(io.BytesIO(wav)) as source, av.open(out, mode="w", format="flac") as sink:
        stream = sink.add_stream("flac", rate=16000)
        for frame in source.decode(audio=0):
            frame.pts = None
            for packet in stream.encode(frame):
                sink.mux(packet)
        for packet in stream.encode(None):
            sink.mux(packet)
    return out.getvalue()


def _just_over_the_context(llm) -> list[dict[str, str]]:
    """A prompt whose chat template takes it past the context while its text alone fits."""
    for words in range(llm.context_length - 60, llm.context_length + 10):
        messages = [{"role": "user", "content": "hello " * words}]
        if llm.count_prompt_tokens(messages) > llm.context_length:
            return messages
    raise AssertionError("no prompt found just over the context")


@pytest.mark.parametrize("route,extra", [("/v1/chat/completions", {"max_tokens": 1}),
                                         ("/v1/chat/completions", {"max_tokens": 1, "stream": True}),
                                         ("/v1/chat/prefill", {})])
def test_a_prompt_over_the_context_with_its_template_is_a_clear_400(inference_url, models, route, extra):
    messages = _just_over_the_context(models.llm)
    r = httpx.post(f"{inference_url}{route}", json={"messages": messages, **extra}, timeout=60)
    assert r.status_code == 400 and r.json()["error"]["code"] == "context_length_exceeded"


def _metric(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


async def test_an_abandoned_chat_stops_generating(inference_url):
    llm = [m["name"] for m in httpx.get(f"{inference_url}/info").json()["models"] if m["capability"] == "llm"][0]
    steps = f'parley_model_latency_seconds_count{{model="{llm}"}}'
    async with httpx.AsyncClient(base_url=inference_url, timeout=120) as watcher:
        async def metric(name: str) -> float:
            return _metric((await watcher.get("/metrics")).text, name)

        async def short_chat_steps() -> float:
            """Device jobs the LLM runs while a 4-token chat is answered."""
            start = await metric(steps)
            reply = await watcher.post("/v1/chat/completions", json={
                "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4, "temperature": 0})
            assert reply.status_code == 200
            return await metric(steps) - start

        alone = await short_chat_steps()
        before = await metric(steps)
        abandoned = await metric("parley_requests_abandoned_total")
        async with httpx.AsyncClient(base_url=inference_url, timeout=120) as client:
            request = asyncio.create_task(client.post("/v1/chat/completions", json={
                "messages": [{"role": "user", "content": "Count from 1 to 2000, separated by commas."}],
                "max_tokens": 3000, "temperature": 0.2}))
            await until(lambda: _at_least(metric(steps), before + 5), 60, "the chat generating")
            request.cancel()  # the client gives up and closes its connection
        await until(lambda: _at_least(metric("parley_requests_abandoned_total"), abandoned + 1), 60,
                    "the chat counted as abandoned")
        # The next chat gets the LLM at once: the abandoned one no longer generates in between.
        assert await short_chat_steps() <= alone


async def _at_least(value, floor: float) -> bool:
    return await value >= floor


async def test_a_model_failing_mid_reply_is_an_error_in_the_stream_not_a_lost_connection(inference_url, models,
                                                                                          monkeypatch):
    real_chat = models.llm._chat_impl

    def fails_after_two_tokens(*args, **kwargs):
        chunks = real_chat(*args, **kwargs)
        yield next(chunks)
        yield next(chunks)
        raise RuntimeError("llama_decode returned -3")

    monkeypatch.setattr(models.llm, "_chat_impl", fails_after_two_tokens)
    heard: list[str] = []
    async with InferenceClient(inference_url) as client:
        with pytest.raises(InferenceError) as failed:
            async for text in client.chat_stream([{"role": "user", "content": "Count to twenty."}], max_tokens=30):
                heard.append(text)
        assert len(heard) == 2, "the tokens before the failure still arrive"
        assert failed.value.code == "model_failed" and "llama_decode returned -3" in str(failed.value)
        # the server is fine afterwards: the next reply streams to its end
        monkeypatch.setattr(models.llm, "_chat_impl", real_chat)
        assert "".join([t async for t in client.chat_stream([{"role": "user", "content": "Say hi."}], max_tokens=5)])
