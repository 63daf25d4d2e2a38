"""Decoding loops: a short clip can make an ASR repeat itself until its token ceiling."""

from __future__ import annotations

from inference_server.models.asr import repeated_tail, without_echo, without_loop


def test_a_decoding_loop_is_cut_after_its_first_pass():
    sentence = [10, 11, 12, 13, 14]
    assert repeated_tail(sentence + sentence, 4) == 5
    assert repeated_tail([7, 7, 7, 7], 4) == 0  # Moonshine's check: "five five five five" is speech
    assert repeated_tail([1, 2, 3, 4, 9, 1, 2, 3, 4], 4) == 0  # not back to back


def test_a_decode_that_never_ended_keeps_one_copy_of_what_it_repeated():
    five, comma = 20, 21
    assert without_loop([1, 2, five, comma] + [five, comma] * 15 + [five]) == [1, 2, five, comma, five]
    assert without_loop([1, 2, 3]) == [1, 2, 3]


def test_a_phrase_said_again_at_the_end_a_word_apart_is_kept_once():
    heard, beep, this_is_diane, comma_and = [1, 2, 3, 4, 5], [6, 7, 8], [9, 10, 11], [12, 13]
    echo = [1, 2, 3, 4, 5] + beep + this_is_diane
    assert without_echo([30, 31] + echo + comma_and + echo) == [30, 31] + echo  # two tokens apart
    assert without_echo(heard + heard) == heard  # back to back
    assert without_echo([1, 2, 3, 4, 1, 2, 3, 4]) == [1, 2, 3, 4, 1, 2, 3, 4]  # "I don't know. I don't know."
    assert without_echo(heard + [20, 21, 22] + heard) == heard + [20, 21, 22] + heard  # three words apart
