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
        """PCM16 mono chunks at `sample_rate`, one per sentence, as soon as each is ready."""
        if not text.strip():
            return iter(())
        return self._synthesize_impl(text, speed)

    @abstractmethod
    def _synthesize_impl(self, text: str, speed: float) -> Iterator[np.ndarray]: ...


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
