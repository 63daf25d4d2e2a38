"""Voice activity detection: per-frame speech probability for a stream."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np

from .base import ModelBackend


class VAD(ModelBackend):
    capability = "vad"
    sample_rate = 16000
    frame_samples = 512  # 32 ms at 16 kHz

    def new_state(self) -> Any:
        """Opaque per-stream recurrent state."""
        return self._new_state_impl()

    def speech_prob(self, state: Any, frame: np.ndarray) -> float:
        """Probability that one `frame_samples`-long float32 frame is speech."""
        if frame.shape != (self.frame_samples,):
            raise ValueError(f"VAD frame must be {self.frame_samples} samples, got {frame.shape}")
        return self._speech_prob_impl(state, frame)

    @abstractmethod
    def _new_state_impl(self) -> Any: ...

    @abstractmethod
    def _speech_prob_impl(self, state: Any, frame: np.ndarray) -> float: ...


class _SileroState:
    __slots__ = ("rnn", "context")

    def __init__(self) -> None:
        self.rnn = np.zeros((2, 1, 128), dtype=np.float32)
        self.context = np.zeros((1, 64), dtype=np.float32)


class SileroVAD(VAD):
    """Silero v6 ONNX run with onnxruntime directly: no torch in the hot path (~0.5 ms/frame)."""

    backend = "silero-onnx"
    _CONTEXT = 64  # samples of the previous frame the v5+ models expect in front of each frame

    def __init__(self, name: str, path: str) -> None:
        super().__init__(name, path=path, device="cpu")
        import onnxruntime as ort

        options = ort.SessionOptions()
        # Tiny model: one thread each avoids contending with ASR/LLM for the cores.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(path, sess_options=options,
                                             providers=["CPUExecutionProvider"])
        self._sr = np.array(self.sample_rate, dtype=np.int64)

    def _new_state_impl(self) -> _SileroState:
        return _SileroState()

    def _speech_prob_impl(self, state: _SileroState, frame: np.ndarray) -> float:
        x = np.concatenate([state.context, frame[None, :].astype(np.float32)], axis=1)
        out, state.rnn = self._session.run(None, {"input": x, "state": state.rnn, "sr": self._sr})
        state.context = x[:, -self._CONTEXT:]
        return float(out[0, 0])
