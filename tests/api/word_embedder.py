"""Stand-ins for the text and voice models at the account services' embedder seam, for tests
of the page and the API's contract (the models' own quality is tested in tests/api/accounts)."""

from __future__ import annotations

import hashlib
import re

import numpy as np

from inference_server.client import InferenceError
from inference_server.protocol import SpeakerEmbedding


class WordEmbedder:
    """Bag-of-words vectors: texts sharing words are similar. Voices: any recording of 1 kB
    or more is a 10 s voice; a smaller one is refused as the inference server would."""

    async def embed(self, texts) -> list[list[float]]:
        vectors = []
        for text in texts:
            vector = np.zeros(64)
            for word in re.findall(r"[a-z]+", text.lower()):
                vector[hashlib.sha256(word.encode()).digest()[0] % 64] += 1
            vectors.append((vector / (np.linalg.norm(vector) or 1)).tolist())
        return vectors

    async def speaker_embedding(self, audio: bytes, *, filename: str = "voice.wav") -> SpeakerEmbedding:
        if len(audio) < 1000:
            raise InferenceError("too little speech to embed a voice", status=400, code="too_short")
        return SpeakerEmbedding(embedding=[0.1] * 256, duration=10.0, model="stub")
