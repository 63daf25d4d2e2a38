"""A file's speaker activity from overlapping segmentation windows: windows' local speakers in,
the file's changes and overlapped spans out (the real model on the real call: test_segmentation_model.py)."""

from __future__ import annotations

import numpy as np

from inference_server.speaker_activity import ActivityAccumulator, window_starts

STEP, SIZE = 100, 200  # samples per frame and per frame's view, small for readable tests
A, B, C, AB, NOBODY = (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (0, 0, 0)


def window(*runs: tuple[int, tuple]) -> np.ndarray:
    """Frames x 3 local speakers from (frames, who) runs."""
    return np.array([who for frames, who in runs for _ in range(frames)], dtype=bool)


def accumulate(length: int, windows: list[tuple[int, np.ndarray]]):
    accumulator = ActivityAccumulator(length, STEP, SIZE)
    for start, activity in windows:
        accumulator.add(start, activity)
    return accumulator.result()


def test_a_change_every_window_sees_is_kept_where_they_see_it():
    # Three windows 10 frames apart; each labels the voices with its own letters.
    windows = [(0, window((50, A), (50, B))), (1000, window((40, C), (60, A))), (2000, window((30, B), (70, C)))]
    activity = accumulate(12000, windows)
    assert activity.changes == [50 * STEP + SIZE // 2]


def test_a_change_only_one_of_three_windows_sees_is_not_kept():
    windows = [(0, window((80, A), (20, B))), (1000, window((100, A))), (2000, window((100, B)))]
    assert accumulate(12000, windows).changes == []


def test_a_pause_between_two_voices_is_still_a_change_and_a_pause_within_one_voice_is_not():
    activity = accumulate(10000, [(0, window((30, A), (10, NOBODY), (30, B), (10, NOBODY), (20, B)))])
    assert activity.changes == [40 * STEP + SIZE // 2]


def test_overlapped_speech_is_given_as_spans_of_at_least_the_length_asked():
    activity = accumulate(10000, [(0, window((30, A), (20, AB), (20, B), (3, AB), (27, B)))])
    assert list(activity.count[25:55]) == [1] * 5 + [2] * 20 + [1] * 5
    assert activity.overlapped(0, 10000, min_samples=10 * STEP) == [(30 * STEP, 50 * STEP)]
    assert activity.overlapped(0, 10000, min_samples=STEP) == [(30 * STEP, 50 * STEP), (70 * STEP, 73 * STEP)]
    assert activity.overlapped(35 * STEP, 40 * STEP, min_samples=STEP) == [(35 * STEP, 40 * STEP)]


def test_where_windows_disagree_on_the_count_the_majority_holds():
    windows = [(0, window((100, AB))), (0, window((100, A))), (0, window((100, AB)))]
    assert set(accumulate(10000, windows).count[:100]) == {2}


def test_windows_cover_the_whole_file_the_last_one_ending_at_its_end():
    assert window_starts(25, 10, 4) == [0, 4, 8, 12, 15]
    assert window_starts(24, 10, 2)[-1] == 14
    assert window_starts(6, 10, 4) == [0]  # shorter than one window: one, padded by the model
