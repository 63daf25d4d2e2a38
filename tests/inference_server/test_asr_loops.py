"""Decoding loops: a short clip can make an ASR repeat itself until its token ceiling."""

from __future__ import annotations

from inference_server.models.asr import repeated_tail, without_loop


def test_a_decoding_loop_is_cut_after_its_first_pass():
    sentence = [10, 11, 12, 13, 14]
    assert repeated_tail(sentence + sentence, 4) == 5
    assert repeated_tail([7, 7, 7, 7], 4) == 0  # Moonshine's check: "five five five five" is speech
    assert repeated_tail([1, 2, 3, 4, 9, 1, 2, 3, 4], 4) == 0  # not back to back


def test_a_decode_that_never_ended_keeps_one_copy_of_what_it_repeated():
    five, comma = 20, 21
    assert without_loop([1, 2, five, comma] + [five, comma] * 15 + [five]) == [1, 2, five, comma, five]
    assert without_loop([1, 2, 3]) == [1, 2, 3]
