"""What the agent needs from storage and inference, and nothing more: the composition hands it
the store (any `parley.store.Store` satisfies both store ports) and the inference servers (an
`InferencePool`; an `InferenceClient` or a test's scripted inference satisfies `Inference` too),
so the agent never depends on the API, an engine or HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from inference_server.protocol import StreamConfig, StreamEvent, Transcript

from parley.store import Actor
from parley.store.records import Memory, MemoryHit, NewMemory, NewSegment, Participant, RoomMember, Segment, Session


class TranscriptSink(Protocol):
    """Where a room's sessions, participants and final captions are kept (SegmentWriter)."""

    async def start_session(self, actor: Actor, room: str, started_at: datetime | None = None) -> Session: ...

    async def end_session(self, actor: Actor, session_id: str, ended_at: datetime | None = None) -> Session: ...

    async def add_participant(self, actor: Actor, session_id: str, identity: str, display_name: str,
                              user_id: str | None = None) -> Participant: ...

    async def append_segments(self, actor: Actor, session_id: str, segments: Sequence[NewSegment]) -> list[Segment]: ...


class MemoryStore(Protocol):
    """What the assistant remembers: recall during a session, titles and facts after it (RoomMemory)."""

    async def list_members(self, actor: Actor, room: str) -> list[RoomMember]: ...

    async def list_segments(self, actor: Actor, session_id: str, *, after_seq: int = 0,
                            limit: int = 10_000) -> list[Segment]: ...

    async def describe_session(self, actor: Actor, session_id: str, title: str | None,
                               summary: str | None) -> Session: ...

    async def add_memory(self, actor: Actor, memory: NewMemory, embedding: Sequence[float], *,
                         owner_id: str | None = None) -> Memory: ...

    async def search_memories(self, actor: Actor, embedding: Sequence[float], *, limit: int = 10,
                              owner_ids: Sequence[str] | None = None) -> list[MemoryHit]: ...


class RoomStore(TranscriptSink, MemoryStore, Protocol):
    """Both: what a kept room (transcript and memory) is built on."""


class TranscriptionStream(Protocol):
    """One live ASR stream: PCM16 at the protocol's 16 kHz in, `StreamEvent`s out."""

    async def send_audio(self, pcm16: bytes) -> None: ...

    async def flush(self) -> None: ...

    async def end(self) -> None: ...

    async def aclose(self) -> None: ...

    def __aiter__(self) -> AsyncIterator[StreamEvent]: ...


@runtime_checkable
class Inference(Protocol):
    """The inference server's requests that agents make; failures raise `InferenceError`."""

    def stream(self, config: StreamConfig | None = None) -> AbstractAsyncContextManager[TranscriptionStream]: ...

    async def transcribe(self, audio: bytes | Path, *, filename: str = "audio.wav",
                         speakers: int | None = None) -> Transcript: ...

    async def chat(self, messages: Sequence[dict[str, str]], **options: Any) -> str: ...

    def chat_stream(self, messages: Sequence[dict[str, str]], **options: Any) -> AsyncIterator[str]:
        """The reply's text as it is generated."""

    async def prefill(self, messages: Sequence[dict[str, str]]) -> int:
        """Warm the LLM's cache with the conversation so far; returns its prompt tokens."""

    def speech(self, text: str, *, response_format: str = "pcm", speed: float = 1.0) -> AsyncIterator[bytes]:
        """Audio as it is synthesized (pcm: 24 kHz PCM16 mono)."""

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...

    async def aclose(self) -> None: ...
