"""End of turn: the probability that a speaker has finished what they meant to say.

The input is the audio of the turn so far, up to the pause being judged; the output a
probability in [0, 1]. It is one signal among others: the stream's turn decision
(inference_server/turn_taking.py) also weighs the words and the length of the silence.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from .base import Capabilities, ModelBackend
from .whisper_features import compute_whisper_log_mel_features


class TurnDetector(ModelBackend):
    capability = "turn"
    sample_rate = 16000
    window_s = 8.0  # audio the model sees; a longer turn is judged by its last `window_s`

    def end_of_turn(self, audios: list[np.ndarray]) -> list[float]:
        """P(turn complete) for each float32 16 kHz clip (the turn's audio up to the pause)."""
        for audio in audios:
            if audio.ndim != 1 or not len(audio):
                raise ValueError(f"turn audio must be a non-empty 1-D array, got shape {audio.shape}")
        return self._end_of_turn_impl(audios)

    @abstractmethod
    def _end_of_turn_impl(self, audios: list[np.ndarray]) -> list[float]: ...


def last_window(audio: np.ndarray, samples: int) -> np.ndarray:
    """The last `samples` of `audio`, zero-padded at the front when shorter (as Smart Turn was trained)."""
    audio = audio[-samples:]
    return np.pad(audio, (samples - len(audio), 0)) if len(audio) < samples else audio


class SmartTurnONNX(TurnDetector):
    """Pipecat's Smart Turn v3.x (Whisper-tiny encoder + classifier, int8 ONNX).

    ~60 ms per call on one thread here; a second thread does not make it faster, so it runs
    on one and leaves the other core to the ASR and the LLM.
    """

    backend = "smart-turn-onnx"

    def __init__(self, name: str, path: str) -> None:
        super().__init__(name, path=path, device="cpu", capabilities=Capabilities(batching=True))
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._samples = int(self.window_s * self.sample_rate)

    def features(self, audio: np.ndarray) -> np.ndarray:
        return compute_whisper_log_mel_features(last_window(audio.astype(np.float32), self._samples))

    def _end_of_turn_impl(self, audios: list[np.ndarray]) -> list[float]:
        batch = np.stack([self.features(audio) for audio in audios])
        (probs,) = self._session.run(None, {self._input: batch})
        return [float(p) for p in np.asarray(probs).reshape(len(audios), -1)[:, 0]]
