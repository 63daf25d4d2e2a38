"""Embeddings at rest and in-process similarity search (SQLite, and Postgres without pgvector)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def as_vector(values: Sequence[float] | np.ndarray) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32).reshape(-1)
    if vector.size == 0 or not np.all(np.isfinite(vector)):
        raise ValueError("an embedding must be a non-empty list of finite numbers")
    return vector


def to_blob(values: Sequence[float] | np.ndarray) -> bytes:
    return as_vector(values).tobytes()


def from_blob(blob: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(blob), dtype=np.float32)


def pgvector_literal(values: Sequence[float] | np.ndarray) -> str:
    return "[" + ",".join(repr(float(x)) for x in as_vector(values)) + "]"


def cosine_rank(query: np.ndarray, candidates: np.ndarray, limit: int) -> list[tuple[int, float]]:
    """(row index, cosine similarity) of the `limit` rows of `candidates` most like `query`."""
    if len(candidates) == 0:
        return []
    norms = np.linalg.norm(candidates, axis=1) * (np.linalg.norm(query) or 1.0)
    scores = candidates @ query / np.where(norms == 0, 1.0, norms)
    order = np.argsort(-scores, kind="stable")[:limit]
    return [(int(i), float(scores[i])) for i in order]
