"""Live speaker changes from the segmentation model's frames: a stream of looks at the newest audio
in, change points out (the real model in a live stream: test_caption_finals_real.py)."""

from __future__ import annotations

import numpy as np

from inference_server.speaker_changes import SegmentationChangeDetector

RATE = 16000
STEP = 160  # 10 ms frames keep the arithmetic readable
NOBODY, A, B, AB = (0, 0, 0), (1, 0, 0), (0, 1, 0), (1, 1, 0)


def detector() -> SegmentationChangeDetector:
    return SegmentationChangeDetector(window=3 * RATE, hop=RATE // 4, frame_step=STEP, frame_size=STEP,
                                      before=RATE // 2, after=int(0.3 * RATE))


def stream(*turns: tuple[float, tuple], labels_swap_every_look: bool = False) -> list[tuple[float, float]]:
    """Speech made of (seconds, who) turns, fed in 20 ms frames; each look sees the truth over its span.
    Returns (when found, change point) in seconds."""
    truth = np.array([who for seconds, who in turns for _ in range(int(seconds * 100))], dtype=bool)
    found, changes = [], detector()
    changes.start(0)
    for position in range(320, len(truth) * STEP + 1, 320):
        if (span := changes.due(position)) is None:
            continue
        start, end = span
        seen = truth[start // STEP:end // STEP]
        if labels_swap_every_look and (end // (RATE // 4)) % 2:
            seen = seen[:, [1, 0, 2]]  # each look names its local speakers afresh
        if (at := changes.add(start, end, seen)) is not None:
            found.append((end / RATE, at / RATE))
    return found


def test_a_change_is_found_once_the_new_voice_has_spoken_long_enough():
    found = stream((3.0, A), (2.0, B))
    assert len(found) == 1
    when, at = found[0]
    assert abs(at - 3.0) <= 0.01 and 3.3 <= when <= 3.3 + 0.25 + 0.02


def test_a_pause_or_an_overlap_between_two_voices_is_still_a_change():
    assert [round(at, 1) for _, at in stream((3.0, A), (0.3, NOBODY), (2.0, B))] == [3.3]
    assert [round(at, 1) for _, at in stream((3.0, A), (0.4, AB), (2.0, B))] == [3.4]


def test_one_voice_with_pauses_or_a_brief_other_voice_gives_no_change():
    assert stream((2.0, A), (0.5, NOBODY), (2.0, A)) == []
    assert stream((3.0, A), (0.2, B), (3.0, A)) == []  # the other voice for less than `after`
    assert stream((0.3, A), (3.0, B)) == []  # the first voice for less than `before`


def test_each_change_is_reported_once_though_every_look_sees_it_and_names_speakers_afresh():
    found = stream((2.0, A), (2.0, B), (2.0, A), labels_swap_every_look=True)
    assert [round(at, 1) for _, at in found] == [2.0, 4.0]


def test_no_look_before_both_sides_could_be_heard_and_none_after_speech_ends():
    changes = detector()
    changes.start(RATE)
    assert changes.due(RATE + int(0.7 * RATE)) is None
    assert changes.due(RATE + int(0.8 * RATE)) == (RATE, RATE + int(0.8 * RATE))
    changes.stop()
    assert changes.due(10 * RATE) is None
    assert changes.add(RATE, 2 * RATE, np.zeros((10, 3), bool)) is None


def test_a_cut_elsewhere_moves_the_looks_to_the_new_caption():
    changes = detector()
    changes.start(0)
    changes.cut(2 * RATE)
    start, end = changes.due(6 * RATE)
    assert end - start == 3 * RATE and start > 2 * RATE  # the newest 3 s, all after the cut
    assert changes.due(int(2.5 * RATE))[0] == 2 * RATE  # less than 3 s since the cut: from the cut
