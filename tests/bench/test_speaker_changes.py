"""The offline speaker-change score: a change found near a true one counts once, any other is false."""

from __future__ import annotations

import numpy as np

from bench.audio import SAMPLE_RATE as RATE
from bench.speaker_changes import detect, match


def test_a_found_change_counts_for_one_true_change_within_the_tolerance():
    assert match([4.9, 5.2, 12.0], [5.0, 20.0], tolerance=0.5) == 1


def test_two_voices_one_after_the_other_are_one_change_where_the_voice_changes():
    voice_a, voice_b = np.eye(4)[0], np.eye(4)[1]
    window, hop = RATE, RATE // 2
    ends = range(window, 10 * RATE + 1, hop)

    def embedding(end: int) -> np.ndarray:  # a window spanning the change at 5 s is a mix of both
        share_b = min(max((end - 5 * RATE) / window, 0.0), 1.0)
        mixed = (1 - share_b) * voice_a + share_b * voice_b
        return mixed / np.linalg.norm(mixed)

    found = detect([(end, embedding(end)) for end in ends], window, hop, threshold=0.7)
    assert match(found, [5.0], tolerance=0.5) == 1 and len(found) == 1
    assert detect([(end, voice_a) for end in ends], window, hop, threshold=0.7) == []
