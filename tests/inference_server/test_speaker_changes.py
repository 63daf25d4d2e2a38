"""The speaker-change detector on sequences of window embeddings (the stream feeds it real ones)."""

from __future__ import annotations

import numpy as np

from inference_server.diarization import OnlineDiarizer
from inference_server.speaker_changes import SpeakerChangeDetector

RATE = 16000


def voice(seed: int, noise: float, rng: np.random.Generator, base: dict) -> np.ndarray:
    centre = base.setdefault(seed, np.random.default_rng(seed).normal(size=256))
    v = centre / np.linalg.norm(centre) + rng.normal(scale=noise / 16, size=256)
    return v / np.linalg.norm(v)


def run(voices_by_second: list[int], noise: float = 0.5, diarizer: OnlineDiarizer | None = None) -> list[float]:
    """Windows every 0.5 s over speech whose voice changes per second as given; change times found."""
    rng, base = np.random.default_rng(7), {}
    distinct = (lambda a, b: not diarizer.same_speaker(a, b)) if diarizer else None
    detector = SpeakerChangeDetector(window=int(1.5 * RATE), hop=int(0.5 * RATE), threshold=0.6, distinct=distinct)
    detector.start(0)
    changes = []
    position = 0
    while position < len(voices_by_second) * RATE:
        position += RATE // 50
        if (end := detector.due(position)) is None:
            continue
        # a window is one voice's if it lies in it; spanning a change it is a mix of both
        second = [voices_by_second[min(len(voices_by_second) - 1, s // RATE)] for s in (end - int(1.5 * RATE), end - 1)]
        vectors = [voice(v, noise, rng, base) for v in second]
        mixed = sum(vectors) / np.linalg.norm(sum(vectors))
        if (change := detector.add(end, mixed)) is not None:
            changes.append(change / RATE)
    return changes


def test_one_voice_throughout_gives_no_change():
    assert run([1] * 12) == []


def test_a_change_without_a_pause_is_found_near_where_it_happened():
    changes = run([1] * 6 + [2] * 6)
    assert len(changes) == 1 and abs(changes[0] - 6.0) <= 0.5


def test_back_and_forth_turns_are_each_found_but_not_twice():
    changes = run([1] * 4 + [2] * 4 + [1] * 4 + [2] * 4)
    assert len(changes) == 3
    assert all(abs(c - t) <= 0.5 for c, t in zip(changes, (4.0, 8.0, 12.0)))


def knowing(*voices: int, threshold: float) -> OnlineDiarizer:
    """A diarizer that has heard each of `voices` speak for a while."""
    rng, base, diarizer = np.random.default_rng(3), {}, OnlineDiarizer(threshold=threshold)
    for v in voices:
        diarizer.assign(voice(v, 0.1, rng, base), duration=5.0)
    return diarizer


def test_a_change_is_not_a_split_when_both_sides_would_get_the_same_label():
    # Two voices the diarizer lumps together (as GE2E does with two women on a telephone line):
    # cutting the caption between them would show the same label on both sides, only later.
    lumped = knowing(1, threshold=-1.0)
    assert run([1] * 6 + [2] * 6, diarizer=lumped) == []
    assert lumped.same_speaker(np.eye(256)[0], np.eye(256)[1])


def test_a_change_to_a_voice_the_diarizer_tells_apart_is_still_split():
    for diarizer in (knowing(1, threshold=0.72), knowing(1, 2, threshold=0.72), OnlineDiarizer()):
        changes = run([1] * 6 + [2] * 6, diarizer=diarizer)
        assert len(changes) == 1 and abs(changes[0] - 6.0) <= 0.5


def test_nothing_carries_over_a_pause_and_a_late_window_is_not_compared_across_it():
    detector = SpeakerChangeDetector(window=int(1.5 * RATE), hop=int(0.5 * RATE), threshold=0.6)
    detector.start(0)
    a, b = np.eye(256)[0], np.eye(256)[1]
    assert detector.add(detector.due(2 * RATE), a) is None
    detector.stop()
    assert detector.due(10 * RATE) is None
    assert detector.add(10 * RATE, b) is None  # arrived after the speech ended
    detector.start(11 * RATE)
    assert detector.due(11 * RATE) is None
