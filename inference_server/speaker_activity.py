"""A whole file's speaker activity, from overlapping windows of the segmentation model.

File transcription runs the segmentation model (models/segmentation.py) on `window_s` windows
every `STEP_S`, so each moment is seen by up to ten windows, each with its own local speakers.
From them, per frame of the file:
- `count`: how many people speak (the windows' mean, rounded); 2 or more is overlapped speech;
- `changes`: where one voice gives way to another. A window votes for a change where its single
  local speaker differs from the previous single one (a pause or an overlap may lie between);
  a change kept is one most windows covering it agree on, placed where the votes peak.
The speaker pass (offline_diarization.py) cuts utterances at these changes as well as at its own
and labels the overlapped spans with the other voice as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STEP_S = 1.0
AGREE = 0.5  # share of the windows covering a frame that must see a change near it
NEAR_FRAMES = 3  # votes within this many frames either side count for the same change


@dataclass(frozen=True)
class SpeakerActivity:
    frame_step: int  # samples between frames
    frame_size: int  # samples each frame sees
    count: np.ndarray  # people speaking, per frame of the file
    changes: list[int]  # samples from the file start where the voice changes

    def overlapped(self, start: int, end: int, min_samples: int) -> list[tuple[int, int]]:
        """Spans (samples) within [start, end) where two or more people speak, each at least `min_samples`."""
        first, last = start // self.frame_step, min(len(self.count), -(-end // self.frame_step))
        spans, run = [], None
        for frame in range(first, last + 1):
            if frame < last and self.count[frame] >= 2:
                run = frame if run is None else run
            elif run is not None:
                begin, stop = max(start, run * self.frame_step), min(end, frame * self.frame_step)
                if stop - begin >= min_samples:
                    spans.append((begin, stop))
                run = None
        return spans


def window_starts(length: int, window: int, step: int) -> list[int]:
    """Starts of the windows that cover `length` samples: every `step`, the last one ending at the end."""
    starts = list(range(0, max(length - window, 0) + 1, step))
    if starts[-1] + window < length:
        starts.append(length - window)
    return starts


class ActivityAccumulator:
    """Collects each window's activity (frames x local speakers) and combines them per file frame."""

    def __init__(self, length: int, frame_step: int, frame_size: int) -> None:
        self._frame_step, self._frame_size = frame_step, frame_size
        frames = length // frame_step + 1
        self._speakers = np.zeros(frames)
        self._votes = np.zeros(frames)
        self._cover = np.zeros(frames)

    def add(self, start: int, activity: np.ndarray) -> None:
        """`activity` of the window starting at sample `start` (bool, frames x local speakers)."""
        offset = int(round(start / self._frame_step))
        frames = min(len(activity), len(self._cover) - offset)
        activity = activity[:frames]
        self._cover[offset:offset + frames] += 1
        self._speakers[offset:offset + frames] += activity.sum(axis=1)
        previous = None
        for frame, speaking in enumerate(activity):
            if speaking.sum() == 1:
                speaker = int(np.argmax(speaking))
                if previous is not None and speaker != previous:
                    self._votes[offset + frame] += 1
                previous = speaker

    def result(self) -> SpeakerActivity:
        cover = np.maximum(self._cover, 1)
        count = np.rint(self._speakers / cover).astype(int)
        near = np.convolve(self._votes, np.ones(2 * NEAR_FRAMES + 1), mode="same") / cover
        changes, frame = [], 0
        while frame < len(near):
            if near[frame] < AGREE:
                frame += 1
                continue
            stop = frame
            while stop < len(near) and near[stop] >= AGREE:
                stop += 1
            tops = frame + np.flatnonzero(near[frame:stop] == near[frame:stop].max())
            peak = int(tops[len(tops) // 2])  # the middle of the best-agreed frames
            changes.append(peak * self._frame_step + self._frame_size // 2)
            frame = stop
        return SpeakerActivity(self._frame_step, self._frame_size, count, changes)
