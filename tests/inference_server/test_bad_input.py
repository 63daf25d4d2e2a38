"""Bad input gets a clear error, and the server keeps serving everyone else."""

from __future__ import annotations

import asyncio
import json

import httpx
import numpy as np
import pytest
from pydantic import SecretStr
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bench.audio import librivox_clips, load_pcm16k, pcm16_bytes
from bench.metrics import wer
from inference_server.audio import encode_wav

from bench.server import running_server as serve
from bench.streams import stream_audio

pytestmark = pytest.mark.slow


@pytest.fixture
def http(inference_url):
    with httpx.Client(base_url=inference_url, timeout=60) as client:
        yield client


def error_of(response: httpx.Response) -> dict:
    return response.json()["error"]


def test_empty_audio_file(http):
    r = http.post("/v1/audio/transcriptions", files={"file": ("a.wav", b"")})
    assert r.status_code == 400 and "empty" in error_of(r)["message"]


def test_undecodable_audio_file(http):
    r = http.post("/v1/audio/transcriptions", files={"file": ("a.wav", b"RIFF....not really a wav" * 50)})
    assert r.status_code == 400 and error_of(r)["code"] == "invalid_audio"
    assert "could not decode" in error_of(r)["message"]


def test_missing_file_field(http):
    r = http.post("/v1/audio/transcriptions", data={"model": "whisper-1"})
    assert r.status_code == 400 and "file" in error_of(r)["message"]


@pytest.mark.parametrize("speakers", ["0", "7", "two"])
def test_a_speaker_count_out_of_range_is_refused_by_name(http, speakers):
    wav = encode_wav(np.zeros(16000, np.int16), 16000)
    r = http.post("/v1/audio/transcriptions", files={"file": ("a.wav", wav)}, data={"speakers": speakers})
    assert r.status_code == 400 and "speakers" in error_of(r)["message"]


def test_oversized_upload_is_refused(model_settings, models):
    small = model_settings.model_copy(update={"max_upload_mb": 0.1})
    with serve(small, models) as url:
        big = encode_wav(np.zeros(16000 * 10, dtype=np.int16), 16000)  # 320 kB
        r = httpx.post(f"{url}/v1/audio/transcriptions", files={"file": ("big.wav", big)}, timeout=30)
        assert r.status_code == 413 and "0.1 MB" in error_of(r)["message"]
        ok = httpx.post(f"{url}/v1/emotion", json={"texts": ["fine"]}, timeout=30)
        assert ok.status_code == 200


@pytest.mark.parametrize("route,body", [
    ("/v1/audio/transcriptions", None),
    ("/v1/chat/completions", {"model": "gpt-99", "messages": [{"role": "user", "content": "hi"}]}),
    ("/v1/audio/speech", {"model": "voice-from-mars", "input": "hi"}),
    ("/v1/embeddings", {"model": "nope", "input": "hi"}),
])
def test_unknown_model_names_what_is_served(http, route, body):
    if body is None:
        r = http.post(route, files={"file": ("a.wav", encode_wav(np.zeros(16000, np.int16), 16000))},
                      data={"model": "whisper-huge-v9"})
    else:
        r = http.post(route, json=body)
    assert r.status_code == 404
    assert error_of(r)["code"] == "model_not_found" and "this server serves" in error_of(r)["message"]


def test_malformed_json_body(http):
    r = http.post("/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "invalid request" in error_of(r)["message"]
    r = http.post("/v1/emotion", json={"texts": []})
    assert r.status_code == 400


def test_context_overflow_is_a_clear_400(http):
    r = http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "word " * 5000}]})
    assert r.status_code == 400 and error_of(r)["code"] == "context_length_exceeded"


async def _events_until_closed(ws) -> list[dict]:
    events = []
    try:
        async for message in ws:
            events.append(json.loads(message))
    except ConnectionClosed:
        pass
    return events


async def _ws_error(url: str, *messages) -> tuple[dict, int]:
    async with connect(url.replace("http", "ws") + "/v1/stream") as ws:
        try:
            for message in messages:
                await ws.send(message)
        except ConnectionClosed:
            pass  # the server may refuse before reading everything
        events = await _events_until_closed(ws)
    return [e for e in events if e["type"] == "error"][0], ws.close_code


async def test_wrong_sample_format_is_refused(inference_url):
    error, code = await _ws_error(inference_url, json.dumps({"type": "config", "sample_rate": 44100}))
    assert code == 1003 and error["code"] == "unsupported_format" and "16000 Hz" in error["message"]


async def test_odd_byte_count_is_not_pcm16(inference_url):
    error, code = await _ws_error(inference_url, b"\x00\x01\x02")
    assert code == 1003 and error["code"] == "invalid_audio"


@pytest.mark.parametrize("message", ["{oops", json.dumps({"type": "rewind"}), json.dumps([1, 2]),
                                     "[" * 100_000 + "]" * 100_000])
async def test_malformed_control_message_closes_with_1007(inference_url, message):
    error, code = await _ws_error(inference_url, message)
    assert code == 1007 and error["code"] == "invalid_message"


async def test_what_was_said_before_a_bad_message_is_still_finalized(inference_url):
    clip = librivox_clips()[0]
    audio = load_pcm16k(clip.path)
    async with connect(inference_url.replace("http", "ws") + "/v1/stream") as ws:
        await ws.send(pcm16_bytes(audio))
        await ws.send("{garbage")
        events = await _events_until_closed(ws)
    finals = [e for e in events if e["type"] == "final"]
    assert finals and wer(clip.text, " ".join(f["text"] for f in finals)) <= 0.2
    assert events[-1]["type"] == "error" and ws.close_code == 1007


async def test_a_client_vanishing_mid_utterance_does_not_hurt_others(inference_url):
    clip = librivox_clips()[3]
    audio = np.concatenate([load_pcm16k(clip.path), np.zeros(8000, np.float32)])
    async with connect(inference_url.replace("http", "ws") + "/v1/stream") as ws:
        await ws.send(pcm16_bytes(audio[: len(audio) // 2]))  # mid-sentence...
        await asyncio.wait_for(ws.recv(), 60)  # the server is at work on it
    # ...and gone without `end`. The next client is served normally.
    run = await stream_audio(inference_url, audio, speed=None)
    assert wer(clip.text, run.text) <= 0.2


async def test_service_token_guards_every_route_but_health(model_settings, models):
    guarded = model_settings.model_copy(update={"inference_token": SecretStr("s3cret")})
    with serve(guarded, models) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.get("/health")).status_code == 200
            for path in ("/info", "/metrics"):
                assert (await http.get(path)).status_code == 401
            assert (await http.post("/v1/emotion", json={"texts": ["x"]})).status_code == 401
            ok = await http.post("/v1/emotion", json={"texts": ["x"]}, headers={"Authorization": "Bearer s3cret"})
            assert ok.status_code == 200
        error, code = await _ws_error(url, b"")
        assert code == 1008 and error["code"] == "unauthorized"
        run = await stream_audio(url, np.zeros(8000, np.float32), speed=None, token="s3cret")
        assert run.close_code == 1000
