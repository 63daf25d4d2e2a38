"""VAD-driven utterance segmentation, shared by live streams and file transcription.

Fed float32 16 kHz audio in any chunk size, it reports where speech starts and ends, and
hands over each finished utterance's audio. Sample positions count from the stream start.
A caller may `cut` the utterance in progress (a caption committed mid-speech): the audio
before the cut is dropped and the utterance's remaining part starts there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .models.vad import VAD


@dataclass(frozen=True)
class SpeechStart:
    start: int  # sample index


@dataclass(frozen=True)
class SpeechEnd:
    start: int
    end: int
    audio: np.ndarray  # empty when the sound was too short to be speech (a click, a cough)
    forced: bool = False  # cut at the maximum utterance length, speech continues


SegmenterEvent = SpeechStart | SpeechEnd


class Segmenter:
    def __init__(self, vad: VAD, *, threshold: float = 0.5, min_silence_ms: int = 400,
                 min_speech_ms: int = 250, pre_roll_ms: int = 200, post_roll_ms: int = 150,
                 max_utterance_s: float = 20.0) -> None:
        self._vad = vad
        self._state = vad.new_state()
        self._frame = vad.frame_samples
        sr = vad.sample_rate
        self.threshold = threshold
        # Hysteresis: speech must fall clearly below the onset threshold to count as silence.
        self._off_threshold = max(0.05, threshold - 0.15)
        self._min_silence = int(min_silence_ms * sr / 1000)
        self._min_speech = int(min_speech_ms * sr / 1000)
        self._pre_roll = int(pre_roll_ms * sr / 1000)
        self._post_roll = int(post_roll_ms * sr / 1000)
        self._max_len = int(max_utterance_s * sr)
        self._pending = np.zeros(0, dtype=np.float32)  # samples not yet a whole VAD frame
        self._history = np.zeros(0, dtype=np.float32)  # recent audio for the pre-roll
        self._audio: list[np.ndarray] = []  # current utterance
        self._position = 0  # samples consumed by the VAD
        self._speaking = False
        self._start = 0
        self._last_speech_end = 0
        self._onset_frames = 0
        self._was_cut = False  # the rest of a cut utterance is decoded however short: it follows speech
        self._probs: list[tuple[int, float]] = []  # (frame end, VAD probability) of the utterance in progress

    @property
    def speaking(self) -> bool:
        return self._speaking

    @property
    def position(self) -> int:
        return self._position

    def utterance_audio(self) -> np.ndarray:
        """Audio of the utterance in progress so far (empty when nobody speaks)."""
        return np.concatenate(self._audio) if self._audio else np.zeros(0, dtype=np.float32)

    @property
    def utterance_start(self) -> int:
        return self._start

    @property
    def min_speech(self) -> int:
        """Fewest samples of speech that make an utterance; anything shorter is a blip."""
        return self._min_speech

    @property
    def last_speech_end(self) -> int:
        """Sample where the VAD last heard speech (the silence since then is a pause)."""
        return self._last_speech_end

    def settled_end(self, min_silence: int | None = None) -> int | None:
        """Where the utterance in progress ends if the silence now under way lasts.

        Known once the silence is longer than the post-roll (or `min_silence` samples); None
        while speech goes on. Lets a caller start decoding during the silence the VAD must
        wait out, or try a short pause as a sentence end.
        """
        wait = max(self._post_roll, min_silence or 0)
        if not self._speaking or self._position - self._last_speech_end < wait:
            return None
        return self._last_speech_end + self._post_roll

    def cut(self, at: int) -> None:
        """Drop the utterance's audio before sample `at`: what follows is its new start."""
        if not self._speaking or not self._start < at <= self._position:
            raise ValueError(f"cannot cut at {at}: the utterance runs {self._start}..{self._position}")
        drop = at - self._start
        self._audio = [self.utterance_audio()[drop:]]
        self._probs = [(end, prob) for end, prob in self._probs if end > at]
        self._start = at
        self._was_cut = True

    def quietest_point(self, earliest: int) -> int:
        """The frame boundary after `earliest` where the VAD was least sure of speech (between words)."""
        window = [(prob, end) for end, prob in self._probs if end - self._frame >= max(earliest, self._start)]
        if not window:
            return self._position
        _, end = min(window)
        return end - self._frame // 2

    def push(self, samples: np.ndarray) -> list[SegmenterEvent]:
        events: list[SegmenterEvent] = []
        data = np.concatenate([self._pending, samples.astype(np.float32, copy=False)])
        usable = len(data) // self._frame * self._frame
        self._pending = data[usable:]
        for offset in range(0, usable, self._frame):
            events.extend(self._step(data[offset:offset + self._frame]))
        return events

    def flush(self) -> list[SegmenterEvent]:
        """End the utterance in progress now (end of stream, or the client asked)."""
        if not self._speaking:
            return []
        if len(self._pending):
            self._audio.append(self._pending)
            self._position += len(self._pending)
            self._last_speech_end = self._position
            self._pending = np.zeros(0, dtype=np.float32)
        return self._close(self._position, forced=False)

    def _step(self, frame: np.ndarray) -> list[SegmenterEvent]:
        prob = self._vad.speech_prob(self._state, frame)
        self._position += self._frame
        if not self._speaking:
            self._history = np.concatenate([self._history, frame])[-(self._pre_roll + 2 * self._frame):]
            self._onset_frames = self._onset_frames + 1 if prob >= self.threshold else 0
            if self._onset_frames < 2:  # two frames (64 ms) of speech: not a click
                return []
            self._speaking = True
            self._start = max(0, self._position - len(self._history))
            self._audio = [self._history.copy()]
            self._probs = []  # the pre-roll is never a cut point
            self._last_speech_end = self._position
            return [SpeechStart(self._start)]
        self._audio.append(frame)
        self._probs.append((self._position, prob))
        if prob >= self._off_threshold:
            self._last_speech_end = self._position
        elif self._position - self._last_speech_end >= self._min_silence:
            return self._close(min(self._position, self._last_speech_end + self._post_roll), forced=False)
        if self._position - self._start >= self._max_len:
            return self._close(self._position, forced=True)
        return []

    def _close(self, end: int, *, forced: bool) -> list[SegmenterEvent]:
        audio = self.utterance_audio()[: end - self._start]
        start = self._start
        self._speaking = forced  # a forced cut continues speaking in a new utterance
        self._audio = []
        self._probs = []
        self._history = np.zeros(0, dtype=np.float32)
        self._onset_frames = 0
        events: list[SegmenterEvent] = []
        was_cut, self._was_cut = self._was_cut, False
        if self._last_speech_end - start >= self._min_speech or forced or was_cut:
            events.append(SpeechEnd(start, end, audio, forced=forced))
        else:
            events.append(SpeechEnd(start, end, np.zeros(0, dtype=np.float32)))  # too short: noise
        if forced:
            self._start = self._position
            self._last_speech_end = self._position
            events.append(SpeechStart(self._start))
        return events
