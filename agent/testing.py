"""Test support for rooms and agents, without models or torch.

`FakeInferenceServer` speaks the real streaming protocol (`inference_server.protocol`) on
`/v1/stream` and answers `/health`. "Speech" is any 20 ms of audio louder than
`threshold`; an utterance ends after `silence_ms` of quiet and takes the next (text,
diarization label) of the script, so tests drive captions with tones (`tone_pattern`) and
check exactly what the room shows. Given an `answer(messages)`, `/v1/chat/completions`
answers what it says, whole or streamed (held while `chat_gate` is clear, to stand for a slow LLM), and
`/v1/embeddings` a fixed vector per text: after-session work (titles, memories) without models.

`ScriptedInference` is the conversation engine's stand-in for the servers, in this process:
scripted replies token by token, speech of a scripted length, failures at chosen points.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import socket
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from inference_server.client import InferenceError
from inference_server.protocol import (
    SAMPLE_RATE,
    ChatChoice,
    ChatChunkChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatDelta,
    ChatMessage,
    EmbeddingData,
    EmbeddingResponse,
    Final,
    Health,
    Interim,
    Ready,
    SpeechEnded,
    SpeechStarted,
    StreamConfig,
    StreamEvent,
    Transcript,
    Usage,
)

from .conversation.audio_output import TTS_SAMPLE_RATE

_CHUNK = SAMPLE_RATE // 50  # 20 ms
EMBEDDING_DIM = 384


def tone_pattern(pattern: list[tuple[str, float]], sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Float audio from [("tone", seconds), ("silence", seconds), ...]; a tone counts as speech here."""
    parts = []
    for kind, seconds in pattern:
        t = np.arange(int(seconds * sample_rate)) / sample_rate
        parts.append(np.sin(2 * np.pi * 220 * t) * 0.3 if kind == "tone" else np.zeros(len(t)))
    return np.concatenate(parts).astype(np.float32)


def text_vector(text: str) -> list[float]:
    """A unit vector fixed by the text: equal texts embed equally, different ones almost orthogonally."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    vector = np.random.default_rng(seed).standard_normal(EMBEDDING_DIM)
    return (vector / np.linalg.norm(vector)).tolist()


class FakeInferenceServer:
    def __init__(self, script: list[tuple[str, str]] | None = None, *, threshold: float = 0.02,
                 silence_ms: int = 300, interim_every_ms: int = 300, sentence_pause_ms: int | None = None,
                 answer: Callable[[list[dict]], str] | None = None) -> None:
        """`sentence_pause_ms`: the words are final at a pause this long, before the speech ends (as the
        real server commits a sentence); the end of the speech then brings an empty closing final."""
        self.script = script or [("hello from the fake server", "S1")]
        self.answer = answer
        self.threshold = threshold
        self.silence_chunks = silence_ms // 20
        self.interim_chunks = interim_every_ms // 20
        self.pause_chunks = sentence_pause_ms // 20 if sentence_pause_ms else None
        self.streams_opened = 0
        self.finals_sent = 0
        self.chats: list[list[dict]] = []  # the messages of every chat request, in order
        self.chat_gate = asyncio.Event()  # chat answers wait while it is clear
        self.chat_gate.set()
        self._server: uvicorn.Server | None = None
        self._serving: asyncio.Task | None = None
        self._streams: set[WebSocket] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> str:
        """Listen on 127.0.0.1 (`port` 0: any free port; the same port again after `stop`)."""
        app = Starlette(routes=[
            Route("/health", self._health),
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
            Route("/v1/embeddings", self._embeddings, methods=["POST"]),
            WebSocketRoute("/v1/stream", self._handle),
        ])
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port or self.port))
        self.port = sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._serving = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._serving.done():
                await self._serving  # raises why it could not start
            await asyncio.sleep(0.01)
        return self.url

    async def stop(self) -> None:
        """Go away abruptly, as a crashed server would: open streams are cut."""
        if self._server is None:
            return
        for ws in list(self._streams):
            await ws.close(code=1012)
        self._server.should_exit = self._server.force_exit = True
        self.chat_gate.set()
        await self._serving
        self._server = self._serving = None

    async def _health(self, _: Request) -> PlainTextResponse:
        return PlainTextResponse(Health(status="ready").model_dump_json(), media_type="application/json")

    async def _chat(self, request: Request) -> Response:
        if self.answer is None:  # no LLM here: the assistant stays silent
            return PlainTextResponse("not found\n", status_code=404)
        body = await request.json()
        self.chats.append(body["messages"])
        await self.chat_gate.wait()
        reply, number, created = self.answer(body["messages"]), len(self.chats), int(time.time())
        if body.get("stream"):
            chunk = ChatCompletionChunk(id=f"fake-{number}", created=created, model="fake", choices=[
                ChatChunkChoice(delta=ChatDelta(role="assistant", content=reply), finish_reason="stop")])
            return Response(f"data: {chunk.model_dump_json()}\n\ndata: [DONE]\n\n", media_type="text/event-stream")
        completion = ChatCompletion(id=f"fake-{number}", created=created, model="fake",
                                    choices=[ChatChoice(message=ChatMessage(role="assistant", content=reply),
                                                        finish_reason="stop")],
                                    usage=Usage(prompt_tokens=1, completion_tokens=1, total_tokens=2))
        return JSONResponse(completion.model_dump())

    async def _embeddings(self, request: Request) -> JSONResponse:
        texts = (await request.json())["input"]
        texts = [texts] if isinstance(texts, str) else texts
        return JSONResponse(EmbeddingResponse(data=[EmbeddingData(index=i, embedding=text_vector(t))
                                                    for i, t in enumerate(texts)], model="fake",
                                                      usage={"prompt_tokens": 0, "total_tokens": 0}).model_dump())

    async def _handle(self, ws: WebSocket) -> None:
        await ws.accept()
        self.streams_opened += 1
        self._streams.add(ws)
        stream = _FakeStream(self, ws)
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("bytes") is not None:
                    await stream.feed(message["bytes"])
                    continue
                kind = json.loads(message.get("text") or "{}").get("type")
                if kind == "config":
                    await stream.emit(Ready(stream_id=f"fake{self.streams_opened}"))
                elif kind == "end":
                    await stream.end_utterance()
                    await ws.close()
                    break
        except (WebSocketDisconnect, RuntimeError, OSError):  # cut by stop(), or the client went away
            pass
        finally:
            self._streams.discard(ws)


class _FakeStream:
    def __init__(self, server: FakeInferenceServer, ws: WebSocket) -> None:
        self._server = server
        self._ws = ws
        self._pending = np.zeros(0, np.int16)
        self._position = 0  # samples
        self._utterance = 0
        self._speech_start = 0
        self._speaking = False
        self._quiet = 0
        self._loud = 0
        self._words_final = False  # this utterance's words were sent as a final at a pause

    async def emit(self, event: StreamEvent) -> None:
        await self._ws.send_text(event.model_dump_json())

    async def feed(self, pcm: bytes) -> None:
        self._pending = np.concatenate([self._pending, np.frombuffer(pcm, "<i2")])
        while len(self._pending) >= _CHUNK:
            chunk, self._pending = self._pending[:_CHUNK], self._pending[_CHUNK:]
            self._position += _CHUNK
            loud = float(np.sqrt(np.mean((chunk / 32768.0) ** 2))) > self._server.threshold
            await self._step(loud)

    async def _step(self, loud: bool) -> None:
        server = self._server
        if not self._speaking:
            if loud:
                self._speaking, self._quiet, self._loud, self._words_final = True, 0, 0, False
                self._utterance += 1
                self._speech_start = self._position - _CHUNK
                await self.emit(SpeechStarted(utterance_id=self._utterance, start=self._seconds(self._speech_start)))
            return
        self._loud += loud
        self._quiet = 0 if loud else self._quiet + 1
        if self._quiet >= server.silence_chunks:
            await self.end_utterance()
        elif self._quiet == server.pause_chunks and not self._words_final:
            self._words_final = True
            await self.emit(self._final(last=False))
            self._server.finals_sent += 1
        elif loud and self._loud % server.interim_chunks == 0:
            words = self._script()[0].split()
            shown = max(1, min(len(words) - 1, self._loud // server.interim_chunks))
            await self.emit(Interim(utterance_id=self._utterance, text=" ".join(words[:shown]),
                                    start=self._seconds(self._speech_start), end=self._seconds(self._position)))

    async def end_utterance(self) -> None:
        if not self._speaking:
            return
        self._speaking = False
        final = self._final()
        await self.emit(SpeechEnded(utterance_id=self._utterance, end=final.end))
        if self._words_final:  # the words went out at the pause: the utterance closes with an empty last final
            await self.emit(final.model_copy(update={"segment": 1, "text": "", "start": final.end}))
            return
        await self.emit(final)
        self._server.finals_sent += 1

    def _final(self, *, last: bool = True) -> Final:
        """The script's words for the utterance, up to where its speech ended."""
        text, speaker = self._script()
        return Final(utterance_id=self._utterance, last=last, text=text, start=self._seconds(self._speech_start),
                     end=self._seconds(self._position - self._quiet * _CHUNK), speaker=speaker, emotion="neutral",
                     emotion_score=0.9)

    def _script(self) -> tuple[str, str]:
        script = self._server.script
        return script[(self._utterance - 1) % len(script)]

    @staticmethod
    def _seconds(samples: int) -> float:
        return round(samples / SAMPLE_RATE, 3)


@dataclass(frozen=True)
class ScriptedReply:
    """One answer of `ScriptedInference`, streamed a word per token."""

    text: str
    first_token_s: float = 0.3
    token_s: float = 0.05
    fail_after: int | None = None  # InferenceError after this many tokens (0: before the first)
    hang_after: int | None = None  # no token after this many, and no end either
    speech_fails: bool = False  # the TTS fails on its sentences


class ScriptedInference:
    """Satisfies `agent.ports.Inference` without a server. Every wait is an `asyncio.sleep`, so on
    a virtual-time loop (tests/virtual_time.py) a script plays in no wall time. Chat answers are
    `replies` in order (none left: an error); speech is `seconds_per_word` of a steady tone per
    word, after `speech_first_chunk_s`. What was asked is kept in `chats`, `spoken`, `prefills`."""

    def __init__(self, replies: Sequence[str | ScriptedReply] = (), *, seconds_per_word: float = 0.3,
                 speech_first_chunk_s: float = 0.1) -> None:
        self.replies = [r if isinstance(r, ScriptedReply) else ScriptedReply(r) for r in replies]
        self.seconds_per_word = seconds_per_word
        self.speech_first_chunk_s = speech_first_chunk_s
        self.chats: list[list[dict[str, str]]] = []
        self.spoken: list[str] = []
        self.prefills: list[list[dict[str, str]]] = []
        self._current: ScriptedReply | None = None  # the reply whose sentences are being spoken

    def _next(self, messages: Sequence[dict[str, str]]) -> ScriptedReply:
        self.chats.append(list(messages))
        if not self.replies:
            raise InferenceError("the script has no reply left", status=500)
        self._current = self.replies.pop(0)
        return self._current

    async def chat(self, messages: Sequence[dict[str, str]], **options: Any) -> str:
        reply = self._next(messages)
        await asyncio.sleep(reply.first_token_s)
        return reply.text

    async def chat_stream(self, messages: Sequence[dict[str, str]], **options: Any) -> AsyncIterator[str]:
        reply = self._next(messages)
        for index, token in enumerate(re.findall(r"\s*\S+", reply.text)):
            if index == reply.fail_after:
                raise InferenceError("inference server connection lost: scripted")
            if index == reply.hang_after:
                await asyncio.Event().wait()
            await asyncio.sleep(reply.first_token_s if index == 0 else reply.token_s)
            yield token
        if reply.fail_after is not None:
            raise InferenceError("inference server connection lost: scripted")

    async def prefill(self, messages: Sequence[dict[str, str]]) -> int:
        self.prefills.append(list(messages))
        return sum(len(m["content"].split()) for m in messages)

    async def speech(self, text: str, *, response_format: str = "pcm", speed: float = 1.0) -> AsyncIterator[bytes]:
        self.spoken.append(text)
        if self._current is not None and self._current.speech_fails:
            raise InferenceError("500: speech synthesis failed", status=500)
        await asyncio.sleep(self.speech_first_chunk_s)
        samples = int(len(text.split()) * self.seconds_per_word * TTS_SAMPLE_RATE)
        chunk = TTS_SAMPLE_RATE // 2
        for start in range(0, samples, chunk):
            yield np.full(min(chunk, samples - start), 3000, "<i2").tobytes()
            await asyncio.sleep(0)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [text_vector(t) for t in texts]

    async def transcribe(self, audio: bytes | Path, *, filename: str = "audio.wav",
                         speakers: int | None = None) -> Transcript:
        raise InferenceError("no transcription in a scripted inference", status=501)

    @contextlib.asynccontextmanager
    async def stream(self, config: StreamConfig | None = None) -> AsyncIterator[Any]:
        """No ASR here: tests give the engine its speech events directly."""
        raise InferenceError("no transcription in a scripted inference", status=501)
        yield

    async def aclose(self) -> None:
        pass
