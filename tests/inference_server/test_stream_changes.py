"""The live change follower's jobs (stream_changes.py): what audio each detector is given, and when.

The engine's voice embeddings are held until the test releases them, as a busy server would;
each sample's value is its own position in the stream, so a job's audio says where it came from.
"""

from __future__ import annotations

import asyncio

import numpy as np

from inference_server.protocol import SAMPLE_RATE
from inference_server.stream_changes import LOOK_HOP_S, StreamSpeakerChanges
from parley.settings import Settings


class HeldEmbeddings:
    """An engine whose voice embeddings and looks finish only when released."""

    def __init__(self, segmentation=None) -> None:
        self.models = type("Models", (), {"segmentation": segmentation})()
        self.jobs: list[tuple[float, float, asyncio.Future]] = []  # (first, last second of the audio, result)
        self.looks: list[tuple[float, float]] = []
        self.others_waiting = False  # other streams' caption decodes queued on the scheduler
        engine = self
        self.scheduler = type("Scheduler", (), {"waiting": lambda self, priority, besides="": engine.others_waiting})()

    async def speaker_embedding(self, audio: np.ndarray, **_) -> np.ndarray | None:
        result = asyncio.get_running_loop().create_future()
        self.jobs.append((float(audio[0]), float(audio[-1]), result))
        return await result

    async def segment(self, audio: np.ndarray, **_) -> np.ndarray:
        self.looks.append((float(audio[0]), float(audio[-1])))
        return np.zeros((self.models.segmentation.frames(len(audio)), 3), bool)


class Segmentation:
    frame_step = frame_size = SAMPLE_RATE // 100

    def frames(self, samples: int) -> int:
        return samples // self.frame_step


def positions(start_s: float, end_s: float) -> np.ndarray:
    """Stream samples [start, end) whose values are their own times in seconds."""
    return (np.arange(int(start_s * SAMPLE_RATE), int(end_s * SAMPLE_RATE)) / SAMPLE_RATE).astype(np.float64)


async def feed(changes: StreamSpeakerChanges, start_s: float, end_s: float) -> None:
    for at in np.arange(start_s, end_s, 0.02):
        changes.audio(positions(at, min(at + 0.02, end_s)))
        changes.poll()
        await asyncio.sleep(0)


async def test_a_window_still_out_when_the_next_utterance_starts_is_not_its_business():
    """She speaks, pauses, speaks again; the window embedded just before the pause comes back only
    once she speaks again. The new utterance's windows still lie wholly inside it (a late result
    once put them on the old grid, reaching back into the pause and the words before it)."""
    engine = HeldEmbeddings()
    changes = StreamSpeakerChanges(engine, Settings(), change=0.55, distinct=lambda a, b: True)
    changes.start(0)
    await feed(changes, 0.0, 1.6)
    late = [job for job in engine.jobs if not job[2].done()]
    assert late, "a window is out when the utterance ends"
    assert changes.stop() is None
    await feed(changes, 1.6, 2.5)  # the pause
    changes.start(int(2.5 * SAMPLE_RATE))
    await feed(changes, 2.5, 2.6)
    for _, _, result in late:
        if not result.cancelled():
            result.set_result(np.ones(4) / 2)
    await feed(changes, 2.6, 5.0)
    later = [first for first, _, _ in engine.jobs[len(late):]]
    assert later and min(later) >= 2.5, later
    changes.close()


async def test_looks_and_windows_give_way_while_other_streams_captions_wait():
    """With other streams' decodes queued, no look or window is started; once they have run, the next
    look takes the newest audio (none is queued for the audio it skipped)."""
    engine = HeldEmbeddings(Segmentation())
    changes = StreamSpeakerChanges(engine, Settings(live_segmentation=True), change=0.55,
                                   distinct=lambda a, b: True)
    changes.start(0)
    engine.others_waiting = True
    await feed(changes, 0.0, 2.0)
    assert engine.looks == [] and engine.jobs == []
    engine.others_waiting = False
    await feed(changes, 2.0, 2.02)
    assert len(engine.looks) == 1 and engine.looks[0][1] >= 2.0 - LOOK_HOP_S, engine.looks  # the newest hop
    assert len(engine.jobs) == 1
    await feed(changes, 2.02, 3.0)
    assert len(engine.looks) > 1
    changes.close()
