"""Test support for rooms and agents, without models or torch.

`FakeInferenceServer` speaks the real streaming protocol (`inference_server.protocol`) on
`/v1/stream` and answers `/health`. "Speech" is any 20 ms of audio louder than
`threshold`; an utterance ends after `silence_ms` of quiet and takes the next (text,
diarization label) of the script, so tests drive captions with tones (`tone_pattern`) and
check exactly what the room shows.
"""

from __future__ import annotations

import json
from http import HTTPStatus

import numpy as np
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from inference_server.protocol import (
    SAMPLE_RATE,
    Final,
    Health,
    Interim,
    Ready,
    SpeechEnded,
    SpeechStarted,
    StreamEvent,
)

_CHUNK = SAMPLE_RATE // 50  # 20 ms


def tone_pattern(pattern: list[tuple[str, float]], sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Float audio from [("tone", seconds), ("silence", seconds), ...]; a tone counts as speech here."""
    parts = []
    for kind, seconds in pattern:
        t = np.arange(int(seconds * sample_rate)) / sample_rate
        parts.append(np.sin(2 * np.pi * 220 * t) * 0.3 if kind == "tone" else np.zeros(len(t)))
    return np.concatenate(parts).astype(np.float32)


class FakeInferenceServer:
    def __init__(self, script: list[tuple[str, str]] | None = None, *, threshold: float = 0.02,
                 silence_ms: int = 300, interim_every_ms: int = 300) -> None:
        self.script = script or [("hello from the fake server", "S1")]
        self.threshold = threshold
        self.silence_chunks = silence_ms // 20
        self.interim_chunks = interim_every_ms // 20
        self.streams_opened = 0
        self.finals_sent = 0
        self._server: Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> str:
        """Listen on 127.0.0.1 (`port` 0: any free port; the same port again after `stop`)."""
        self._server = await serve(self._handle, "127.0.0.1", port or self.port,
                                   process_request=self._http)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.url

    async def stop(self) -> None:
        """Go away abruptly, as a crashed server would: open streams are cut."""
        if self._server is not None:
            self._server.close(close_connections=True)
            await self._server.wait_closed()
            self._server = None

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path == "/health":
            return connection.respond(HTTPStatus.OK, Health(status="ready").model_dump_json())
        if request.path != "/v1/stream":
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        self.streams_opened += 1
        stream = _FakeStream(self, ws)
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    await stream.feed(message)
                elif json.loads(message).get("type") == "config":
                    await stream.emit(Ready(stream_id=f"fake{self.streams_opened}"))
                elif json.loads(message).get("type") == "end":
                    await stream.end_utterance()
                    await ws.close()
        except ConnectionClosed:
            pass


class _FakeStream:
    def __init__(self, server: FakeInferenceServer, ws: ServerConnection) -> None:
        self._server = server
        self._ws = ws
        self._pending = np.zeros(0, np.int16)
        self._position = 0  # samples
        self._utterance = 0
        self._speech_start = 0
        self._speaking = False
        self._quiet = 0
        self._loud = 0

    async def emit(self, event: StreamEvent) -> None:
        await self._ws.send(event.model_dump_json())

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
                self._speaking, self._quiet, self._loud = True, 0, 0
                self._utterance += 1
                self._speech_start = self._position - _CHUNK
                await self.emit(SpeechStarted(utterance_id=self._utterance, start=self._seconds(self._speech_start)))
            return
        self._loud += loud
        self._quiet = 0 if loud else self._quiet + 1
        if self._quiet >= server.silence_chunks:
            await self.end_utterance()
        elif loud and self._loud % server.interim_chunks == 0:
            words = self._script()[0].split()
            shown = max(1, min(len(words) - 1, self._loud // server.interim_chunks))
            await self.emit(Interim(utterance_id=self._utterance, text=" ".join(words[:shown]),
                                    start=self._seconds(self._speech_start), end=self._seconds(self._position)))

    async def end_utterance(self) -> None:
        if not self._speaking:
            return
        self._speaking = False
        end = self._seconds(self._position - self._quiet * _CHUNK)
        text, speaker = self._script()
        await self.emit(SpeechEnded(utterance_id=self._utterance, end=end))
        await self.emit(Final(utterance_id=self._utterance, text=text, start=self._seconds(self._speech_start),
                              end=end, speaker=speaker, emotion="neutral", emotion_score=0.9))
        self._server.finals_sent += 1

    def _script(self) -> tuple[str, str]:
        script = self._server.script
        return script[(self._utterance - 1) % len(script)]

    @staticmethod
    def _seconds(samples: int) -> float:
        return round(samples / SAMPLE_RATE, 3)
