"""What the account routes need from the models: sentence embeddings (memory search) and voice
embeddings (speaker enrollment). `inference_server.client.InferenceClient` is both."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from inference_server.protocol import SpeakerEmbedding


class TextEmbedder(Protocol):
    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


class VoiceEmbedder(Protocol):
    async def speaker_embedding(self, audio: bytes, *, filename: str = "voice.wav") -> SpeakerEmbedding: ...
