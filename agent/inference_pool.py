"""Several inference servers seen as one: the least-loaded live server per stream or request,
and failover when a server dies.

Candidates come from the registry in Redis (inference_server/registry.py) when a Redis
client is given, else from a fixed list of URLs. `InferencePool` satisfies `Inference`
(agent/ports.py), the requests agents make, as `InferenceClient` does: every host gives agents a pool.

A transcription stream (`FailoverStream`) survives its server: when the connection drops
it opens a stream on the next server, replays the audio of the utterances not finalized
yet (kept for at most `MAX_REPLAY_S`), and goes on, with times and utterance ids carried
over so the consumer sees one continuous stream whose interrupted utterance still gets
its final. Requests fail over only before their first result (a reply half spoken is not
restarted elsewhere).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError
from websockets.exceptions import ConnectionClosed

from inference_server.client import InferenceClient, InferenceError, TranscriptionStreamClient
from inference_server.protocol import (CLOSE_INVALID, CLOSE_NORMAL, CLOSE_POLICY, CLOSE_TOO_LONG, CLOSE_UNSUPPORTED,
                                       SAMPLE_RATE, ErrorEvent, Final, Interim, Ready, SpeechEnded, SpeechStarted,
                                       StreamConfig, StreamEvent)
from inference_server.registry import KEY_PREFIX, Registration, live_servers

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_REPLAY_S = 30.0  # longer than an utterance can be (max_utterance_s 20 s)
REPLAY_PAD_S = 0.3  # audio kept before an utterance's start, for the new server's VAD
REFUSALS = (CLOSE_POLICY, CLOSE_INVALID, CLOSE_UNSUPPORTED, CLOSE_TOO_LONG)  # the stream's fault: no failover


class NoServerAvailable(InferenceError):
    pass


class InferencePool:
    def __init__(self, urls: Sequence[str] = (), *, redis: Redis | None = None, token: str | None = None,
                 prefix: str = KEY_PREFIX, refresh_s: float = 1.0, cooldown_s: float = 10.0) -> None:
        if not urls and redis is None:
            raise ValueError("an inference pool needs URLs or a registry")
        self._static = [url.rstrip("/") for url in urls]
        self._redis = redis
        self._token = token
        self._prefix = prefix
        self._refresh_s = refresh_s
        self._cooldown_s = cooldown_s
        self._clients: dict[str, InferenceClient] = {}
        self._failed: dict[str, float] = {}  # url -> when it last failed (monotonic)
        self._streams: collections.Counter[str] = collections.Counter()  # open streams per url, ours
        self._opened: dict[str, list[float]] = collections.defaultdict(list)  # url -> when we opened one (UNIX)
        self._registry: tuple[float, list[Registration]] = (0.0, [])

    @classmethod
    def from_settings(cls, settings) -> InferencePool:
        """`inference_url` may list several servers, comma-separated; `redis_url` enables the registry."""
        urls = [url.strip() for url in settings.effective_inference_url.split(",") if url.strip()]
        redis = Redis.from_url(settings.redis_url.get_secret_value()) if settings.redis_url else None
        token = settings.inference_token.get_secret_value() if settings.inference_token else None
        return cls(urls, redis=redis, token=token)

    # --- choosing a server ----------------------------------------------------------------

    async def candidates(self) -> list[str]:
        """Servers to try, best first: the least loaded of those that have not just failed."""
        if self._redis is not None and (entries := await self._entries()):
            now = time.time()
            for url, times in self._opened.items():
                times[:] = [t for t in times if now - t < 10.0]
            # Streams we opened since a server's last heartbeat are not in its numbers yet.
            scored = [(e.load + sum(t > e.updated_at for t in self._opened[e.url]), e.url) for e in entries]
        else:
            scored = [(self._streams[url], url) for url in self._static]
        ranked = [url for _, url in sorted(scored, key=lambda pair: pair[0])]
        now = time.monotonic()
        healthy = [url for url in ranked if now - self._failed.get(url, -1e9) > self._cooldown_s]
        return healthy or ranked  # all failed lately: try them anyway

    async def _entries(self) -> list[Registration]:
        read_at, entries = self._registry
        if time.monotonic() - read_at < self._refresh_s:
            return entries
        try:
            entries = await live_servers(self._redis, prefix=self._prefix)
        except (RedisError, OSError) as exc:  # keep using what we knew
            log.warning("inference registry unreachable: %s", exc)
        self._registry = (time.monotonic(), entries)
        return entries

    def mark_failed(self, url: str) -> None:
        log.warning("inference server %s failed; using others for %.0f s", url, self._cooldown_s)
        self._failed[url] = time.monotonic()
        self._registry = (0.0, self._registry[1])  # re-read the registry next time

    def client(self, url: str) -> InferenceClient:
        if url not in self._clients:
            self._clients[url] = InferenceClient(url, token=self._token)
        return self._clients[url]

    async def _call(self, request: Callable[[InferenceClient], Awaitable[T]]) -> T:
        last: InferenceError = NoServerAvailable("no inference server is available")
        for url in await self.candidates():
            try:
                return await request(self.client(url))
            except InferenceError as exc:
                if exc.status is not None:  # the server answered: its refusal stands
                    raise
                self.mark_failed(url)
                last = exc
        raise last

    async def _iterate(self, request: Callable[[InferenceClient], AsyncIterator[T]]) -> AsyncIterator[T]:
        last: InferenceError = NoServerAvailable("no inference server is available")
        for url in await self.candidates():
            started = False
            try:
                async for item in request(self.client(url)):
                    started = True
                    yield item
                return
            except InferenceError as exc:
                if started or exc.status is not None:
                    raise
                self.mark_failed(url)
                last = exc
        raise last

    # --- streams ----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def stream(self, config: StreamConfig | None = None) -> AsyncIterator[FailoverStream]:
        """Like `InferenceClient.stream`; raises InferenceError only when no server can be reached."""
        stream = FailoverStream(self, config or StreamConfig())
        await stream.open()
        try:
            yield stream
        finally:
            await stream.aclose()

    async def _open(self, config: StreamConfig) -> tuple[str, Any, TranscriptionStreamClient]:
        last: InferenceError = NoServerAvailable("no inference server is available")
        for url in await self.candidates():
            context = self.client(url).stream(config)
            try:
                ws = await context.__aenter__()
            except InferenceError as exc:
                self.mark_failed(url)
                last = exc
                continue
            self._streams[url] += 1
            self._opened[url].append(time.time())
            return url, context, ws
        raise last

    async def _release(self, url: str, context: Any) -> None:
        self._streams[url] -= 1
        with contextlib.suppress(Exception):  # a dead server's socket may fail to close cleanly
            await context.__aexit__(None, None, None)

    # --- requests (InferenceClient's methods) -----------------------------------------------

    async def health(self):
        return await self._call(lambda c: c.health())

    async def transcribe(self, audio, **options: Any):
        return await self._call(lambda c: c.transcribe(audio, **options))

    async def chat(self, messages, **options: Any) -> str:
        return await self._call(lambda c: c.chat(messages, **options))

    async def prefill(self, messages) -> int:
        return await self._call(lambda c: c.prefill(messages))

    async def embed(self, texts) -> list[list[float]]:
        return await self._call(lambda c: c.embed(texts))

    async def emotion(self, texts):
        return await self._call(lambda c: c.emotion(texts))

    async def speaker_embedding(self, audio: bytes, **options: Any):
        return await self._call(lambda c: c.speaker_embedding(audio, **options))

    def chat_stream(self, messages, **options: Any) -> AsyncIterator[str]:
        return self._iterate(lambda c: c.chat_stream(messages, **options))

    def speech(self, text: str, **options: Any) -> AsyncIterator[bytes]:
        return self._iterate(lambda c: c.speech(text, **options))

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        if self._redis is not None:
            await self._redis.aclose()


class FailoverStream:
    """A transcription stream that moves to another server when its own dies; used like
    `TranscriptionStreamClient` (send_audio, flush, end, aclose, async iteration)."""

    def __init__(self, pool: InferencePool, config: StreamConfig) -> None:
        self._pool = pool
        self._config = config
        self.url = ""
        self._context: Any = None
        self._ws: TranscriptionStreamClient | None = None
        self._sent = 0  # samples sent, on this stream's clock
        self._replay: collections.deque[tuple[int, bytes]] = collections.deque()  # (first sample, audio)
        self._pending: dict[int, int] = {}  # utterance id -> start sample, until its final
        self._offset = 0  # the current server's time zero, in samples on our clock
        self._ids: dict[int, int] = {}  # the current server's utterance ids -> ours
        self._reused: list[int] = []  # our ids that the replayed audio will produce again
        self._captions: dict[int, int] = {}  # our id -> its finals sent so far, until its last
        self._first_segment: dict[int, int] = {}  # our id -> where the current server's segments start
        self._told: set[tuple[str, int]] = set()  # (speech_started|speech_ended, id) sent, until its final
        self._next_id = 1
        self._ending = False
        self._closed = False
        self.stream_id: str | None = None
        self.close_code: int | None = None
        self.failovers = 0

    async def open(self) -> None:
        self.url, self._context, self._ws = await self._pool._open(self._config)

    # --- sending ------------------------------------------------------------------------------

    async def send_audio(self, pcm16: bytes) -> None:
        self._replay.append((self._sent, pcm16))
        self._sent += len(pcm16) // 2
        self._trim()
        with contextlib.suppress(ConnectionClosed):  # the reader fails over and replays it
            await self._ws.send_audio(pcm16)

    async def send_control(self, message: str | dict[str, Any]) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send_control(message)

    async def flush(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self._ws.flush()

    async def end(self) -> None:
        self._ending = True
        with contextlib.suppress(ConnectionClosed):
            await self._ws.end()

    async def aclose(self) -> None:
        self._closed = True
        if self._context is not None:
            await self._pool._release(self.url, self._context)
            self._context = None

    def _trim(self) -> None:
        oldest = self._sent - int(MAX_REPLAY_S * SAMPLE_RATE)
        if any(start < oldest for start in self._pending.values()):  # noise that was never finalized
            self._pending = {u: start for u, start in self._pending.items() if start >= oldest}
            self._told = {told for told in self._told if told[1] in self._pending}
            self._captions = {u: n for u, n in self._captions.items() if u in self._pending}
        keep_from = max(oldest, min(self._pending.values(), default=self._sent) - int(REPLAY_PAD_S * SAMPLE_RATE))
        while self._replay and self._replay[0][0] + len(self._replay[0][1]) // 2 <= keep_from:
            self._replay.popleft()

    # --- receiving ----------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[StreamEvent]:
        while True:
            async for event in self._ws:
                if (translated := self._translate(event)) is not None:
                    yield translated
            self.close_code = self._ws.close_code
            if self._closed or self.close_code in REFUSALS or (self._ending and self.close_code == CLOSE_NORMAL):
                return
            try:
                await self._failover()
            except InferenceError as exc:  # nowhere to go: end as a dropped stream would
                log.warning("transcription stream lost and no server to fail over to: %s", exc)
                return

    async def _failover(self) -> None:
        failed = self.url
        self._pool.mark_failed(failed)
        await self._pool._release(failed, self._context)
        self._context = None
        self.url, self._context, self._ws = await self._pool._open(self._config)
        self.failovers += 1
        self._offset = self._replay[0][0] if self._replay else self._sent
        self._reused = sorted((u for u, start in self._pending.items() if start >= self._offset),
                              key=self._pending.get)
        self._ids = {}
        # The new server numbers a replayed utterance's captions from 0: continue after those sent.
        self._first_segment = {u: self._captions.get(u, 0) for u in self._reused}
        log.info("transcription stream moved from %s to %s, replaying %.1f s", failed, self.url,
                 (self._sent - self._offset) / SAMPLE_RATE)
        for _, pcm in list(self._replay):
            await self._ws.send_audio(pcm)
        if self._ending:
            await self._ws.end()

    def _translate(self, event: StreamEvent) -> StreamEvent | None:
        if isinstance(event, Ready):
            if self.stream_id is not None:
                return None  # the consumer saw its stream start once
            self.stream_id = event.stream_id
            return event
        if isinstance(event, ErrorEvent):
            return event
        ours = self._our_id(event.utterance_id)
        shift = self._offset / SAMPLE_RATE
        update: dict[str, Any] = {"utterance_id": ours}
        if isinstance(event, (SpeechStarted, Interim, Final)):
            update["start"] = round(event.start + shift, 3)
        if isinstance(event, (Interim, Final, SpeechEnded)):
            update["end"] = round(event.end + shift, 3)
        if isinstance(event, (Interim, Final)):
            update["segment"] = event.segment + self._first_segment.get(ours, 0)
        if isinstance(event, (SpeechStarted, SpeechEnded)):
            if (event.type, ours) in self._told:
                return None  # a replayed utterance: the consumer heard it start (or end) already
            self._told.add((event.type, ours))
        if isinstance(event, SpeechStarted):
            self._pending.setdefault(ours, self._offset + round(event.start * SAMPLE_RATE))
        elif isinstance(event, Final) and not event.last:
            self._pending[ours] = self._offset + round(event.end * SAMPLE_RATE)  # replay only what is not final
            self._captions[ours] = update["segment"] + 1
        elif isinstance(event, Final):
            self._pending.pop(ours, None)
            self._captions.pop(ours, None)
            self._first_segment.pop(ours, None)
            self._told -= {("speech_started", ours), ("speech_ended", ours)}
        return event.model_copy(update=update)

    def _our_id(self, theirs: int) -> int:
        if theirs not in self._ids:
            if self._reused:
                self._ids[theirs] = self._reused.pop(0)
            else:
                self._ids[theirs] = self._next_id
            self._next_id = max(self._next_id, self._ids[theirs] + 1)
        return self._ids[theirs]
