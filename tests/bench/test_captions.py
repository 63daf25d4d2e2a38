"""Which moment of the played audio a live final is timed from."""

from __future__ import annotations

from bench.captions import utterance_end

# Loud stretches of a played file (seconds): one pause at 5.0-5.6, then talk without a pause.
REGIONS = [(1.0, 5.0), (5.6, 14.0)]


def test_a_final_whose_speech_stops_is_timed_from_the_end_of_the_loud_audio():
    assert utterance_end({"start": 0.8, "end": 5.15}, REGIONS) == 5.0


def test_a_final_cut_inside_continuous_speech_is_timed_from_its_cut():
    assert utterance_end({"start": 5.6, "end": 8.4}, REGIONS) == 8.4
    assert utterance_end({"start": 8.4, "end": 11.0}, REGIONS) == 11.0


def test_an_earlier_finals_pause_is_never_taken_for_this_finals_end():
    # starts just after the pause: the 5.0 end inside its slack belongs to the final before
    assert utterance_end({"start": 5.2, "end": 9.0}, REGIONS) == 9.0


def test_the_last_final_is_timed_from_where_the_talk_stops():
    assert utterance_end({"start": 11.0, "end": 14.1}, REGIONS) == 14.0


def test_a_final_over_silence_is_not_timed():
    assert utterance_end({"start": 15.0, "end": 16.0}, REGIONS) is None
