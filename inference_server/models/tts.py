"""Text-to-speech: audio comes out sentence by sentence, so playback can start early."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator

import numpy as np

from .base import Capabilities, ModelBackend


class TTS(ModelBackend):
    capability = "tts"
    sample_rate: int

    def synthesize(self, text: str, *, speed: float = 1.0) -> Iterator[np.ndarray]:
        """PCM16 mono chunks at `sample_rate`, one per sentence, as soon as each is ready; each
        starts at its first sound and keeps at most `TAIL_S` of silence after its last."""
        if not text.strip():
            return iter(())
        return (trimmed for chunk in self._synthesize_impl(text, speed)
                if len(trimmed := trim_silence(chunk, self.sample_rate)))

    @abstractmethod
    def _synthesize_impl(self, text: str, speed: float) -> Iterator[np.ndarray]: ...


LEAD_S = 0.02  # silence kept before a sentence's first sound
TAIL_S = 0.15  # ...and after its last: a natural pause between sentences, no more
_SILENT_DB = -40.0  # below the sentence's loudest 10 ms by this much is silence


def trim_silence(pcm: np.ndarray, rate: int) -> np.ndarray:
    """Hibari pads each sentence with ~0.3 s of silence before and ~0.45 s after: the reply's
    first sound came 0.3 s later than its first chunk, and sentences were 0.75 s apart."""
    frame = rate // 100
    count = len(pcm) // frame
    if count == 0:
        return pcm
    rms = np.sqrt(np.mean(pcm[: count * frame].astype(np.float32).reshape(count, frame) ** 2, axis=1))
    loud = np.flatnonzero(rms > rms.max() * 10 ** (_SILENT_DB / 20)) if rms.max() > 0 else []
    if not len(loud):
        return pcm[:0]
    start = max(0, loud[0] * frame - int(LEAD_S * rate))
    end = min(len(pcm), (loud[-1] + 1) * frame + int(TAIL_S * rate))
    return pcm[start:end]


class PiperTTS(TTS):
    backend = "piper"

    def __init__(self, name: str, path: str, *, device: str = "cpu") -> None:
        super().__init__(name, path=path, device=device, capabilities=Capabilities(streaming=True))
        from piper import PiperVoice

        self._voice = PiperVoice.load(path, config_path=f"{path}.json", use_cuda=device == "cuda")
        self.sample_rate = int(self._voice.config.sample_rate)

    def _synthesize_impl(self, text: str, speed: float) -> Iterator[np.ndarray]:
        from piper import SynthesisConfig

        config = SynthesisConfig(length_scale=1.0 / speed)
        for chunk in self._voice.synthesize(text, syn_config=config):
            yield (np.clip(chunk.audio_float_array, -1.0, 1.0) * 32767).astype(np.int16)


class HibariTTS(TTS):
    """Hibari's "heart" voice (Kokoro-82M distilled, 24 kHz) with its own phonemizer: no espeak."""

    backend = "hibari"

    def __init__(self, name: str, path: str, *, device: str = "cpu") -> None:
        super().__init__(name, path=path, device=device, capabilities=Capabilities(streaming=True))
        from hibari import Hibari

        # One thread: the package measured no gain from more, and the LLM wants the other core.
        self._voice = Hibari(model=path, threads=1)
        self._voice.g2p  # load the lexicons now, not on the first reply
        self.sample_rate = int(self._voice.sample_rate)

    def _synthesize_impl(self, text: str, speed: float) -> Iterator[np.ndarray]:
        for chunk in self._voice.stream(text, speed=speed):
            yield (np.clip(chunk, -1.0, 1.0) * 32767).astype(np.int16)
