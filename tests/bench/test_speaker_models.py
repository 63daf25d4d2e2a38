"""The speaker-model comparison: which windows count as one voice, and the equal error rate."""

from __future__ import annotations

from bench.speaker_models import equal_error_rate, one_voice_windows


def test_only_windows_inside_one_speakers_turn_and_clear_of_the_other_count():
    turns = [(0.0, 3.0, "a"), (2.5, 5.0, "b")]  # b starts talking over a at 2.5 s
    windows = one_voice_windows(turns, window=1.0, hop=0.5)
    assert windows == [(0.0, "a"), (0.5, "a"), (1.0, "a"), (1.5, "a"), (3.0, "b"), (3.5, "b"), (4.0, "b")]


def test_equal_error_rate_is_zero_when_the_two_kinds_are_apart_and_half_when_they_are_alike():
    assert equal_error_rate([0.8, 0.9, 0.85], [0.2, 0.3]) == 0.0
    assert equal_error_rate([0.5, 0.6], [0.5, 0.6]) == 0.5
    # one one-voice pair as low as the two-voice ones: one miss in four at the best threshold
    assert equal_error_rate([0.9, 0.8, 0.85, 0.3], [0.2, 0.3, 0.25, 0.1]) == 0.25
