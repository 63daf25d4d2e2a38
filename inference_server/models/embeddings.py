"""Sentence embeddings (memory search, emotion prototypes)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

import numpy as np

from .base import Capabilities, ModelBackend


class TextEmbedder(ModelBackend):
    capability = "embeddings"
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 embeddings, one row per text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._embed_impl(list(texts))

    @abstractmethod
    def _embed_impl(self, texts: list[str]) -> np.ndarray: ...


class SentenceTransformerEmbedder(TextEmbedder):
    backend = "sentence-transformers"

    def __init__(self, name: str, path: str, *, device: str = "cpu") -> None:
        super().__init__(name, path=path, device=device, capabilities=Capabilities(batching=True))
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(path, device=device, local_files_only=True)
        self.dim = int((getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension)())

    def _embed_impl(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(texts, batch_size=64, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return vectors.astype(np.float32)
