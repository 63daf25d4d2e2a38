"""Which decoded words end a sentence, so that a caption may be final at a short pause."""

from __future__ import annotations

import pytest

from inference_server.captions import CaptionPolicy, is_complete_sentence


@pytest.mark.parametrize("text", ["How are you?", "Thank you.", "I'm in New Jersey now, though.", "I hope not.",
                                  "Sheila and Texas, originally from Chicago.", "Hello!"])
def test_a_sentence_ending_in_punctuation_is_complete(text):
    assert is_complete_sentence(text)


@pytest.mark.parametrize("text", ["What is the capital of.", "I went to the.", "It's.", "and I'm.", "Hello there",
                                  "Mr.", ".", ""])
def test_words_that_need_more_or_no_final_punctuation_are_not(text):
    assert not is_complete_sentence(text)


def test_a_short_or_empty_caption_waits_for_more_and_a_long_one_does_not():
    policy = CaptionPolicy()
    assert not policy.commit_at_pause("Yes.", 0.6)  # shorter than min_caption_s
    assert policy.commit_at_pause("How are you?", 1.2)
    assert not policy.commit_at_pause("I went to the", 2.0)
    assert policy.commit_at_pause("I went to the", policy.soft_caption_s)  # long enough to cut at any pause
    assert not policy.commit_at_pause("  ", 5.0)
