"""Speaker changes inside continuous speech, from sliding windows of voice embeddings.

On a shared microphone people rarely leave the VAD's pause between turns. While someone
speaks, a voice embedding of the last `window` of audio is taken every `hop`; the similarity
of the windows just before and just after a boundary is that boundary's score. A boundary
whose score is below `threshold` and lower than its neighbours' is a speaker change: the
caption is split there and each side is labelled by the diarizer. Confirming the minimum
needs one more window, so a change is known about `window + hop` after it happened.

Adjacent windows of one voice often score low on telephone speech (8 false changes a minute on
the dev set's real call), so a caller may pass `distinct`: a change is kept only when the two
sides could be different speakers (the diarizer would not give both the same label).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class SpeakerChangeDetector:
    window: int  # samples per embedding window
    hop: int  # samples between window ends
    threshold: float  # cosine similarity below which two adjacent windows are different voices
    distinct: Callable[[np.ndarray, np.ndarray], bool] | None = None  # could these two windows be two people?
    _windows: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (end, embedding), recent only
    # (boundary, similarity across it, the windows before and after it), the last three
    _scores: list[tuple[int, float, np.ndarray, np.ndarray]] = field(default_factory=list)
    _next_end: int | None = None
    _last_change: int = -(1 << 62)

    def start(self, at: int) -> None:
        """Speech started at sample `at`: windows begin there (nothing carries over a pause)."""
        self._windows.clear()
        self._scores.clear()
        self._next_end = at + self.window

    def stop(self) -> None:
        self._next_end = None

    def due(self, position: int) -> int | None:
        """End of the next window to embed once the stream has reached `position`; behind, the newest."""
        if self._next_end is None or position < self._next_end:
            return None
        return self._next_end + (position - self._next_end) // self.hop * self.hop

    def add(self, end: int, embedding: np.ndarray | None) -> int | None:
        """The embedding of the window ending at `end` (None: too little voice). Returns a change point."""
        if self._next_end is None:
            return None  # speech ended meanwhile
        self._next_end = end + self.hop
        if embedding is None:
            return None
        before = [(e, v) for e, v in self._windows if abs(e - (end - self.window)) <= self.hop // 2]
        self._windows = [(e, v) for e, v in self._windows if e > end - self.window - 2 * self.hop]
        self._windows.append((end, embedding))
        if not before:
            return None
        boundary, previous = before[-1]
        self._scores = self._scores[-2:] + [(boundary, float(np.dot(previous, embedding)), previous, embedding)]
        return self._confirmed()

    def pending(self) -> int | None:
        """At the end of speech: the newest boundary if it scored as a change (no later window can confirm it)."""
        if not self._scores:
            return None
        boundary, score, before, after = self._scores[-1]
        earlier = self._scores[-2][1] if len(self._scores) > 1 else 1.0
        if score < self.threshold and score <= earlier and boundary - self._last_change >= self.window \
                and self._two_voices(before, after):
            return boundary
        return None

    def _confirmed(self) -> int | None:
        if len(self._scores) < 2:
            return None
        boundary, score, window_before, window_after = self._scores[-2]
        after = self._scores[-1][1]
        before = self._scores[-3][1] if len(self._scores) > 2 else 1.0
        if score < self.threshold and score <= after and score <= before \
                and boundary - self._last_change >= self.window and self._two_voices(window_before, window_after):
            self._last_change = boundary
            return boundary
        return None

    def _two_voices(self, before: np.ndarray, after: np.ndarray) -> bool:
        return self.distinct is None or self.distinct(before, after)


@dataclass
class SegmentationChangeDetector:
    """Speaker changes from a segmentation model's frames over the newest audio (live).

    Every `hop` while someone speaks, the model labels the last `window` of the utterance frame by
    frame (models/segmentation.py). Where its single local speaker changes, the old one having
    spoken `before` and the new one `after` since, that is a change. The model sees a turn 0.3 s in,
    where embedding windows need a window of each side: on the dev set's real call it found 6 of 8
    changes 0.76 s after they happened (p50), windows ~2 s after. It misses changes between voices
    it hears as one (the splices' two readers), so the window detector keeps running beside it.
    """

    window: int  # samples the model sees each time (the newest of the utterance)
    hop: int  # samples between two looks
    frame_step: int  # the model's frame layout
    frame_size: int
    before: int  # samples the old voice must have spoken, alone, just before the change
    after: int  # samples the new voice must have spoken since
    _start: int | None = None
    _next_end: int | None = None
    _last_change: int = -(1 << 62)

    def start(self, at: int) -> None:
        """Speech started at sample `at`: looks begin once both sides of a change could be heard."""
        self._start = at
        self._next_end = at + self.before + self.after

    def stop(self) -> None:
        self._start = self._next_end = None

    def due(self, position: int) -> tuple[int, int] | None:
        """(start, end) of the audio to look at once the stream has reached `position`; behind, the newest."""
        if self._next_end is None or position < self._next_end:
            return None
        end = self._next_end + (position - self._next_end) // self.hop * self.hop
        return max(self._start, end - self.window), end

    def cut(self, at: int) -> None:
        """The caption was split at `at` (by either detector): looks start there, and no change is
        reported again within `before + after` of it."""
        if self._start is not None:
            self._start = max(self._start, at)
        self._last_change = max(self._last_change, at)

    def add(self, start: int, end: int, activity: np.ndarray | None) -> int | None:
        """The model's `activity` (frames x local speakers) for audio [start, end). Returns a change point."""
        if self._next_end is None:
            return None  # speech ended meanwhile
        self._next_end = end + self.hop
        if activity is None:
            return None
        runs: list[list[int]] = []  # [speaker, first frame, end frame) of single-speaker stretches
        for frame, speaking in enumerate(activity):
            if speaking.sum() != 1:
                continue
            speaker = int(np.argmax(speaking))
            if runs and runs[-1][0] == speaker and runs[-1][2] == frame:
                runs[-1][2] = frame + 1
            else:
                runs.append([speaker, frame, frame + 1])
        for index, (old, new) in enumerate(zip(runs, runs[1:])):
            if old[0] == new[0]:
                continue
            at = start + new[1] * self.frame_step + self.frame_size // 2
            heard_after = sum(r[2] - r[1] for r in runs[index + 1:] if r[0] == new[0]) * self.frame_step
            heard_before = (old[2] - old[1]) * self.frame_step
            if heard_before >= self.before and heard_after >= self.after \
                    and at - self._last_change >= self.before + self.after:
                self._last_change = at
                return at
        return None
