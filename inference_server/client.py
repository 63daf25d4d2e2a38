"""Async client of the inference server: what agents, the CLI and tests use.

    async with InferenceClient("http://127.0.0.1:8001", token=...) as client:
        async with client.stream() as stream:
            await stream.send_audio(pcm16_bytes)
            async for event in stream:       # SpeechStarted, Interim, Final, SpeechEnded, ...
                ...
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from .protocol import (APIError, ChatCompletion, ChatCompletionChunk, EmotionResponse, EmotionResult, ErrorEvent,
                       Health, ServerInfo, SpeakerEmbedding, StreamConfig, StreamEnd, StreamEvent,
                       StreamFlush, Transcript, VerboseTranscription, stream_event_adapter)


class InferenceError(Exception):
    """The server refused or failed a request; `code` is its machine-readable reason."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def _raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        error = response.json()["error"]
        message, code = error["message"], error.get("code")
    except (ValueError, KeyError, TypeError):
        message, code = response.text[:200] or response.reason_phrase, None
    raise InferenceError(f"{response.status_code}: {message}", status=response.status_code, code=code)


class TranscriptionStreamClient:
    """One live stream. Iterate it for events; it ends when the server closes the stream."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self.stream_id: str | None = None
        self.close_code: int | None = None

    async def send_audio(self, pcm16: bytes) -> None:
        await self._ws.send(pcm16)

    async def send_control(self, message: str | dict[str, Any]) -> None:
        await self._ws.send(message if isinstance(message, str) else json.dumps(message))

    async def flush(self) -> None:
        await self.send_control(StreamFlush().model_dump())

    async def end(self) -> None:
        """No more audio: the server sends the remaining finals, then closes."""
        await self.send_control(StreamEnd().model_dump())

    async def aclose(self) -> None:
        await self._ws.close()

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[StreamEvent]:
        try:
            async for raw in self._ws:
                event = stream_event_adapter.validate_json(raw)
                if event.type == "ready":
                    self.stream_id = event.stream_id
                yield event
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self._ws.close_code


class _StreamContext:
    def __init__(self, url: str, headers: dict[str, str], config: StreamConfig | None) -> None:
        self._url, self._headers, self._config = url, headers, config
        self._stream: TranscriptionStreamClient | None = None

    async def __aenter__(self) -> TranscriptionStreamClient:
        try:
            ws = await connect(self._url, additional_headers=self._headers, max_size=2**22, open_timeout=10)
        except (OSError, TimeoutError) as exc:
            raise InferenceError(f"cannot reach the inference server at {self._url}: {exc}") from exc
        self._stream = TranscriptionStreamClient(ws)
        if self._config is not None:
            await self._stream.send_control(self._config.model_dump())
        return self._stream

    async def __aexit__(self, *exc: object) -> None:
        if self._stream is not None:
            await self._stream.aclose()


class InferenceClient:
    def __init__(self, url: str, *, token: str | None = None, timeout: float = 120.0) -> None:
        self.url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(base_url=self.url, headers=self._headers,
                                       timeout=httpx.Timeout(timeout, connect=5.0))

    async def __aenter__(self) -> InferenceClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise InferenceError(f"cannot reach the inference server at {self.url}: {exc}") from exc
        _raise_for(response)
        return response

    # --- service ----------------------------------------------------------------------------

    async def health(self) -> Health:
        try:
            response = await self._http.get("/health")
        except httpx.TransportError as exc:
            raise InferenceError(f"cannot reach the inference server at {self.url}: {exc}") from exc
        return Health.model_validate(response.json())

    async def info(self) -> ServerInfo:
        return ServerInfo.model_validate((await self._request("GET", "/info")).json())

    # --- streaming transcription ------------------------------------------------------------

    def stream(self, config: StreamConfig | None = None) -> _StreamContext:
        ws_url = "ws" + self.url[len("http"):] + "/v1/stream"
        return _StreamContext(ws_url, self._headers, config)

    # --- REST -------------------------------------------------------------------------------

    async def transcribe(self, audio: bytes | Path, *, filename: str = "audio.wav",
                         speakers: int | None = None) -> Transcript:
        if isinstance(audio, Path):
            filename, audio = audio.name, audio.read_bytes()
        form = {"response_format": "verbose_json"} | ({"speakers": str(speakers)} if speakers else {})
        response = await self._request("POST", "/v1/audio/transcriptions", files={"file": (filename, audio)},
                                       data=form)
        verbose = VerboseTranscription.model_validate(response.json())
        return Transcript(duration=verbose.duration, text=verbose.text, segments=verbose.segments)

    async def chat(self, messages: Sequence[dict[str, str]], **options: Any) -> str:
        response = await self._request("POST", "/v1/chat/completions",
                                       json={"messages": list(messages), **options})
        return ChatCompletion.model_validate(response.json()).choices[0].message.content

    async def prefill(self, messages: Sequence[dict[str, str]]) -> int:
        """Warm the LLM's cache with the conversation so far; returns its prompt tokens."""
        response = await self._request("POST", "/v1/chat/prefill", json={"messages": list(messages)})
        return int(response.json()["prompt_tokens"])

    async def chat_stream(self, messages: Sequence[dict[str, str]], **options: Any) -> AsyncIterator[str]:
        body = {"messages": list(messages), **options, "stream": True}
        try:
            async with self._http.stream("POST", "/v1/chat/completions", json=body) as response:
                if not response.is_success:
                    await response.aread()
                    _raise_for(response)
                done = False
                async for line in response.aiter_lines():
                    if line == "data: [DONE]":
                        done = True
                    if not line.startswith("data: ") or done:
                        continue
                    payload = json.loads(line[6:])
                    if "error" in payload:  # the server's failure after its 200
                        error = APIError.model_validate(payload).error
                        raise InferenceError(error.message, code=error.code)
                    chunk = ChatCompletionChunk.model_validate(payload)
                    if chunk.choices and chunk.choices[0].delta.content:
                        yield chunk.choices[0].delta.content
                if not done:
                    raise InferenceError("the reply stream ended before its end", code="stream_truncated")
        except httpx.TransportError as exc:
            raise InferenceError(f"inference server connection lost: {exc}") from exc

    async def speech(self, text: str, *, response_format: str = "pcm", speed: float = 1.0) -> AsyncIterator[bytes]:
        """Audio bytes as they are synthesized (pcm: 24 kHz PCM16 mono; wav: the voice's rate)."""
        body = {"input": text, "response_format": response_format, "speed": speed}
        try:
            async with self._http.stream("POST", "/v1/audio/speech", json=body) as response:
                if not response.is_success:
                    await response.aread()
                    _raise_for(response)
                async for chunk in response.aiter_bytes():
                    yield chunk
        except httpx.TransportError as exc:
            raise InferenceError(f"inference server connection lost: {exc}") from exc

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        response = await self._request("POST", "/v1/embeddings", json={"input": list(texts)})
        return [item["embedding"] for item in response.json()["data"]]

    async def emotion(self, texts: Sequence[str]) -> list[EmotionResult]:
        response = await self._request("POST", "/v1/emotion", json={"texts": list(texts)})
        return EmotionResponse.model_validate(response.json()).results

    async def speaker_embedding(self, audio: bytes, *, filename: str = "voice.wav") -> SpeakerEmbedding:
        response = await self._request("POST", "/v1/speakers/embed", files={"file": (filename, audio)})
        return SpeakerEmbedding.model_validate(response.json())


__all__ = ["InferenceClient", "InferenceError", "TranscriptionStreamClient", "ErrorEvent"]
