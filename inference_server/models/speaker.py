"""Speaker (voice) embeddings: a fixed-size vector per stretch of speech."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

import numpy as np

from .base import Capabilities, ModelBackend

MIN_SPEAKER_AUDIO_S = 0.4  # shorter than this carries too little voice to embed


class SpeakerEncoder(ModelBackend):
    capability = "speaker"
    sample_rate = 16000
    dim: int

    def embed(self, audios: Sequence[np.ndarray]) -> list[np.ndarray | None]:
        """One L2-normalised embedding per float32 16 kHz clip; None for clips too short."""
        out: list[np.ndarray | None] = [None] * len(audios)
        usable = [i for i, a in enumerate(audios) if len(a) >= MIN_SPEAKER_AUDIO_S * self.sample_rate]
        if usable:
            for i, vector in zip(usable, self._embed_impl([audios[i] for i in usable])):
                out[i] = vector
        return out

    @abstractmethod
    def _embed_impl(self, audios: list[np.ndarray]) -> list[np.ndarray]: ...


class ResemblyzerEncoder(SpeakerEncoder):
    """GE2E d-vectors (256-d) from resemblyzer's packaged LSTM encoder."""

    backend = "resemblyzer"
    dim = 256

    def __init__(self, name: str, path: str, *, device: str = "cpu") -> None:
        super().__init__(name, path=path, device=device, capabilities=Capabilities(batching=True))
        from resemblyzer import VoiceEncoder

        self._encoder = VoiceEncoder(device=device, verbose=False, weights_fpath=path)

    def _embed_impl(self, audios: list[np.ndarray]) -> list[np.ndarray]:
        from resemblyzer import preprocess_wav

        vectors = []
        for audio in audios:
            wav = preprocess_wav(audio.astype(np.float32), source_sr=self.sample_rate)
            if len(wav) < MIN_SPEAKER_AUDIO_S * self.sample_rate:
                wav = audio.astype(np.float32)  # silence trimming left too little; use it whole
            vector = self._encoder.embed_utterance(wav)
            vectors.append((vector / (np.linalg.norm(vector) + 1e-9)).astype(np.float32))
        return vectors
