"""Where the voice changes in a live stream while someone speaks: both detectors and their jobs.

- Windows: a voice embedding of the last `change_window_s` every `change_hop_s`
  (speaker_changes.SpeakerChangeDetector); a change is known about 2 s after it happened.
- Looks: with a segmentation model, the newest `LOOK_S` of the utterance every `LOOK_HOP_S`
  (speaker_changes.SegmentationChangeDetector); it hears a new voice 0.3 s in, but not every
  change the windows find (two readers it takes for one voice).
At most one job of each kind is in flight: a loaded server looks less often and never falls
behind. Both rank with the assistant's reply, not below it: a reply's stream of LLM and TTS jobs
once held every window back for seconds, and captions spoken meanwhile were never split. But no
job starts while other streams' caption decodes wait: with four streams, looks queued ahead of
their interims cost 0.17 s of interim lag (p50 0.47 -> 0.64 s).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np

from parley.settings import Settings

from .engine import Engine
from .protocol import SAMPLE_RATE
from .scheduler import Priority, current_client
from .speaker_changes import SegmentationChangeDetector, SpeakerChangeDetector

LOOK_S = 3.0  # the newest audio the segmentation model looks at (10 ms of CPU here)...
LOOK_HOP_S = 0.25  # ...this often while someone speaks
LOOK_BEFORE_S = 0.5  # the old voice heard this long just before a change...
LOOK_AFTER_S = 0.3  # ...and the new one this long since


class StreamSpeakerChanges:
    def __init__(self, engine: Engine, settings: Settings, change: float,
                 distinct: Callable[[np.ndarray, np.ndarray], bool]) -> None:
        """`change`: the speaker model's change similarity; `distinct`: could two windows be two people?"""
        self._engine = engine
        self._windows = SpeakerChangeDetector(window=int(settings.change_window_s * SAMPLE_RATE),
                                              hop=int(settings.change_hop_s * SAMPLE_RATE), threshold=change,
                                              distinct=distinct)
        segmentation = engine.models.segmentation if settings.live_segmentation else None
        self._looks = SegmentationChangeDetector(
            window=int(LOOK_S * SAMPLE_RATE), hop=int(LOOK_HOP_S * SAMPLE_RATE), frame_step=segmentation.frame_step,
            frame_size=segmentation.frame_size, before=int(LOOK_BEFORE_S * SAMPLE_RATE),
            after=int(LOOK_AFTER_S * SAMPLE_RATE)) if segmentation is not None else None
        self._keep = max(self._windows.window + 2 * self._windows.hop,
                         self._looks.window + 2 * self._looks.hop if self._looks else 0)
        self._client = current_client.get()  # this stream, as the scheduler knows it
        self._recent = np.zeros(0, np.float32)  # the newest audio
        self._received = 0
        self._window_job: tuple[int, asyncio.Task] | None = None
        self._look_job: tuple[int, int, asyncio.Task] | None = None

    def audio(self, samples: np.ndarray) -> None:
        self._recent = np.concatenate([self._recent, samples])[-self._keep:]
        self._received += len(samples)

    def start(self, at: int) -> None:
        """Speech started at sample `at` (after `stop()`, which dropped the last utterance's jobs)."""
        self._windows.start(at)
        if self._looks:
            self._looks.start(at)

    def stop(self) -> int | None:
        """Speech ended: the newest boundary if the windows scored it a change (none can confirm it later)."""
        change = self._windows.pending()
        self._drop_jobs()
        self._windows.stop()
        if self._looks:
            self._looks.stop()
        return change

    def cut(self, at: int) -> None:
        """The caption was split at `at`. The windows are not told: a change they find within a window of
        a look's cut is another change (the real call's overlap: the looks cut where Sheila began, the
        windows where Diane came back 1 s later); one they find again is within the caller's minimum."""
        if self._looks:
            self._looks.cut(at)

    def poll(self) -> list[int]:
        """Changes found by jobs that finished since the last call; starts the jobs now due."""
        return [change for change in (self._follow_windows(), self._follow_looks()) if change is not None]

    def close(self) -> None:
        self._drop_jobs()

    def _drop_jobs(self) -> None:
        """A job's result belongs to its utterance. One that comes in after the next has begun set the
        windows' grid back: the next window reached into the pause and the last utterance's words."""
        for job in (self._window_job, self._look_job):
            if job and not job[-1].done():
                job[-1].cancel()
        self._window_job = self._look_job = None

    def _follow_windows(self) -> int | None:
        change = None
        if self._window_job is not None:
            end, task = self._window_job
            if not task.done():
                return None
            self._window_job = None
            change = self._windows.add(end, _result(task))
        end = self._windows.due(self._received)
        if end is not None and not self._others_captions_wait():
            window = self._slice(end - self._windows.window, end)
            task = asyncio.create_task(self._engine.speaker_embedding(window, priority=Priority.REPLY))
            self._window_job = (end, task)
        return change

    def _follow_looks(self) -> int | None:
        if self._looks is None:
            return None
        change = None
        if self._look_job is not None:
            start, end, task = self._look_job
            if not task.done():
                return None
            self._look_job = None
            change = self._looks.add(start, end, _result(task))
        span = self._looks.due(self._received)
        if span is not None and not self._others_captions_wait() \
                and self._engine.models.segmentation.frames(span[1] - span[0]) >= 1:
            audio = self._slice(*span)
            self._look_job = (*span, asyncio.create_task(self._engine.segment(audio, priority=Priority.REPLY)))
        return change

    def _others_captions_wait(self) -> bool:
        """Other streams' caption decodes are queued: a job now would go ahead of them. The next poll
        takes the newest audio instead."""
        return self._engine.scheduler.waiting(Priority.INTERIM, besides=self._client)

    def _slice(self, start: int, end: int) -> np.ndarray:
        """Stream samples [start, end) from the newest audio kept."""
        newest = len(self._recent)
        return self._recent[newest - (self._received - start):newest - (self._received - end)]


def _result(task: asyncio.Task):
    return None if task.cancelled() or task.exception() is not None else task.result()
