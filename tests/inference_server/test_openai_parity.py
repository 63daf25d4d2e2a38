"""What OpenAI clients send and expect, checked on the wire against a real server."""

from __future__ import annotations

import base64
import json

import httpx
import numpy as np
import pytest

from inference_server.audio import encode_wav

pytestmark = pytest.mark.slow


@pytest.fixture
def http(inference_url):
    with httpx.Client(base_url=inference_url, timeout=120) as client:
        yield client


def _error(response: httpx.Response, status: int = 400) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"]
    return error


def test_models_lists_the_loaded_models_and_their_openai_aliases(http):
    listed = http.get("/v1/models").json()
    ids = [m["id"] for m in listed["data"]]
    loaded = {m["capability"]: m["name"] for m in http.get("/info").json()["models"]}
    assert listed["object"] == "list" and all(m["object"] == "model" for m in listed["data"])
    assert ids[:4] == [loaded["llm"], loaded["final-asr"], loaded["tts"], loaded["embeddings"]]  # files are finals
    assert {"whisper-1", "tts-1", "gpt-4o-mini", "text-embedding-3-small"} <= set(ids)
    assert http.get("/v1/models/gpt-4o-mini").json()["id"] == "gpt-4o-mini"
    assert _error(http.get("/v1/models/gpt-99"), 404)["code"] == "model_not_found"
    reply = http.post("/v1/chat/completions", json={
        "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2})
    assert reply.status_code == 200 and reply.json()["model"] == loaded["llm"]


def test_max_completion_tokens_limits_the_answer(http):
    r = http.post("/v1/chat/completions", json={
        "messages": [{"role": "user", "content": "Write a long story about a dragon."}],
        "max_completion_tokens": 5})
    assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] <= 5
    assert r.json()["choices"][0]["finish_reason"] == "length"


def test_developer_role_and_content_parts_are_understood(http):
    r = http.post("/v1/chat/completions", json={"max_tokens": 4, "messages": [
        {"role": "developer", "content": "You are terse."},
        {"role": "user", "content": [{"type": "text", "text": "Say"}, {"type": "text", "text": "hi."}]}]})
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["role"] == "assistant"


@pytest.mark.parametrize("change,param", [
    ({"n": 2}, "n"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}, "tools"),
    ({"messages": [{"role": "tool", "content": "42", "tool_call_id": "x"}]}, "messages[0]"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
     "messages[0].content"),
    ({"logprobs": True}, "logprobs"),
    ({"response_format": {"type": "json_object"}}, "response_format"),
])
def test_what_chat_cannot_honour_is_refused_by_name(http, change, param):
    body = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2} | change
    error = _error(http.post("/v1/chat/completions", json=body))
    assert error["code"] == "unsupported_parameter" and error["message"].startswith(param)


def test_invalid_bodies_get_400_in_openais_shape(http):
    assert _error(http.post("/v1/chat/completions", json={"messages": "hi"}))["code"] == "invalid_body"
    assert _error(http.post("/v1/embeddings", json={"input": [1, 2, 3]}))["code"] == "invalid_body"


def test_stream_usage_chunk_when_asked(http):
    body = {"messages": [{"role": "user", "content": "Count to five."}], "max_tokens": 8, "stream": True,
            "stream_options": {"include_usage": True}}
    with http.stream("POST", "/v1/chat/completions", json=body) as r:
        events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all("usage" not in c for c in chunks[:-1])
    last = chunks[-1]
    assert last["choices"] == [] and 0 < last["usage"]["completion_tokens"] <= 8
    assert last["usage"]["total_tokens"] == last["usage"]["prompt_tokens"] + last["usage"]["completion_tokens"]


def test_embeddings_in_base64_and_dimensions(http):
    plain = http.post("/v1/embeddings", json={"input": "a cat"}).json()["data"][0]["embedding"]
    packed = http.post("/v1/embeddings", json={"input": "a cat", "encoding_format": "base64"}).json()
    vector = np.frombuffer(base64.b64decode(packed["data"][0]["embedding"]), dtype="<f4")
    assert np.allclose(vector, plain, atol=1e-6)
    assert http.post("/v1/embeddings", json={"input": "a cat", "dimensions": len(plain)}).status_code == 200
    error = _error(http.post("/v1/embeddings", json={"input": "a cat", "dimensions": 64}))
    assert error["code"] == "unsupported_dimensions"


@pytest.mark.parametrize("data,param", [({"stream": "true"}, "stream"),
                                        ({"timestamp_granularities[]": "word"}, "timestamp_granularities")])
def test_transcription_options_it_cannot_honour_are_refused(http, data, param):
    wav = encode_wav(np.zeros(16000, np.int16), 16000)
    error = _error(http.post("/v1/audio/transcriptions", files={"file": ("a.wav", wav)}, data=data))
    assert error["code"] == "unsupported_parameter" and error["message"].startswith(param)


@pytest.mark.parametrize("change,param", [({"voice": "robot-9000"}, "voice"),
                                          ({"instructions": "whisper"}, "instructions"),
                                          ({"stream_format": "sse", "response_format": "wav"}, "stream_format")])
def test_speech_options_it_cannot_honour_are_refused(http, change, param):
    error = _error(http.post("/v1/audio/speech", json={"input": "Hi."} | change))
    assert error["message"].startswith(param)
    assert http.post("/v1/audio/speech", json={"input": "Hi.", "voice": "alloy", "response_format": "pcm"}
                     ).status_code == 200


def test_speech_as_server_sent_events(http):
    body = {"input": "Hello there.", "response_format": "pcm", "stream_format": "sse"}
    with http.stream("POST", "/v1/audio/speech", json=body) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1]["type"] == "speech.audio.done" and events[-1]["usage"]["input_tokens"] > 0
    pcm = b"".join(base64.b64decode(e["audio"]) for e in events[:-1])
    assert all(e["type"] == "speech.audio.delta" for e in events[:-1]) and len(pcm) / 2 / 24000 > 0.4
