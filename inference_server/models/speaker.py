"""Speaker (voice) embeddings: a fixed-size vector per stretch of speech."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .base import Capabilities, ModelBackend

MIN_SPEAKER_AUDIO_S = 0.4  # shorter than this carries too little voice to embed


@dataclass(frozen=True)
class VoiceSimilarity:
    """Cosine similarities that mean "one person" for an embedder: each model's scale is its own."""

    same_speaker: float  # an utterance at or above this to a known speaker is that speaker
    change: float  # adjacent speaker-change windows below this may be two voices
    split: float  # whole-file pass: a new cluster is kept when its centroid is below this to every other

    def overridden(self, *, same_speaker: float | None, change: float | None) -> VoiceSimilarity:
        """With the settings' values, where set."""
        return replace(self, same_speaker=self.same_speaker if same_speaker is None else same_speaker,
                       change=self.change if change is None else change)


class SpeakerEncoder(ModelBackend):
    capability = "speaker"
    sample_rate = 16000
    dim: int
    similarity: VoiceSimilarity

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
    # Measured on the dev set (bench/RESULTS.md): two voices' live windows 0.84-0.89 alike; the file pass
    # found both women of the real call only at a split of 0.85 (and the telephone splice's never).
    similarity = VoiceSimilarity(same_speaker=0.72, change=0.7, split=0.85)

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


class CamPlusPlusEncoder(SpeakerEncoder):
    """3D-Speaker CAM++ x-vectors (192-d) in ONNX, on Kaldi 80-bin log-mel filterbanks."""

    backend = "campplus"
    dim = 192
    # Calibrated on the dev set (bench/RESULTS.md, 2026-12-04): 1.5 s windows of one voice score ~0.7, of
    # the real call's two women ~0.5; 0.55 finds its changes and none in single readers. In the file pass,
    # clusters of one real voice are 0.75-0.81 alike, of two 0.45-0.67: a split at 0.7-0.75 separated
    # every two-voice conversation of the dev set and no single reader; 0.8 found a third in one splice.
    similarity = VoiceSimilarity(same_speaker=0.65, change=0.55, split=0.72)

    def __init__(self, name: str, path: str, *, threads: int = 1) -> None:
        super().__init__(name, path=path, device="cpu", capabilities=Capabilities(batching=True))
        import kaldi_native_fbank as knf
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self._session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self._fbank = knf.OnlineFbank
        fbank = knf.FbankOptions()
        fbank.frame_opts.samp_freq = self.sample_rate
        fbank.frame_opts.dither = 0.0
        fbank.mel_opts.num_bins = 80
        fbank.mel_opts.low_freq = 20
        self._fbank_options = fbank

    def _features(self, audio: np.ndarray) -> np.ndarray:
        fbank = self._fbank(self._fbank_options)
        fbank.accept_waveform(self.sample_rate, audio.astype(np.float32) * 32768.0)  # Kaldi's int16 scale
        fbank.input_finished()
        frames = np.stack([fbank.get_frame(i) for i in range(fbank.num_frames_ready)])
        return (frames - frames.mean(axis=0, keepdims=True)).astype(np.float32)  # per-utterance mean normalisation

    def _embed_impl(self, audios: list[np.ndarray]) -> list[np.ndarray]:
        vectors = []
        for audio in audios:
            vector = self._session.run(None, {"fbank": self._features(audio)[None]})[0][0]
            vectors.append((vector / (np.linalg.norm(vector) + 1e-9)).astype(np.float32))
        return vectors
