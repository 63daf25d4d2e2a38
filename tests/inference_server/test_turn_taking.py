"""The end-of-turn decision, driven input by input on the stream's audio clock (no model, no sleeps)."""

from __future__ import annotations

import pytest

from inference_server.turn_taking import Judge, TurnEnded, TurnOptions, TurnTracker, Verdict, judge, word_cue

OPTIONS = TurnOptions(silence_s=0.2, max_delay_s=2.5, fallback_delay_s=0.9, threshold=0.5)


@pytest.mark.parametrize("text, cue", [
    ("How many minutes are there in", "unfinished"),
    ("I'd like a cup of", "unfinished"),
    ("Tell me about the", "unfinished"),
    ("I went home and", "unfinished"),
    ("So, um", "unfinished"),
    ("Well, I was thinking,", "unfinished"),
    ("What is the capital of France?", "question"),
    ("How many legs does a spider have?", "question"),
    ("Thanks, that's all.", None),
    ("The weather is nice today", None),
    ("Really?", None),  # one word: too short to be sure it is a whole question
    ("[cough]", None),
])
def test_the_words_alone(text, cue):
    assert word_cue(text) == cue


@pytest.mark.parametrize("text, probability, complete, reason", [
    ("What time is it?", 0.1, True, "question"),  # a question ends the turn whatever the audio says
    ("I want to go to the", 0.97, False, "words"),  # trailing "the": not done, however sure the model is
    ("I want to go home", 0.8, True, "model"),
    ("I want to go home", 0.3, False, "model"),
    ("I want to go home", None, None, "silence"),  # no model: decided by silence
])
def test_judge_combines_words_and_model(text, probability, complete, reason):
    verdict = judge(text, probability, 0.5)
    assert (verdict.complete, verdict.reason) == (complete, reason)


def run(steps):
    """Feed (time, input) steps; return (time, output) for every action produced."""
    tracker = TurnTracker(OPTIONS)
    out = []
    for now, kind, *args in steps:
        if kind == "speech":
            tracker.speech(now)
            actions = []
        elif kind == "silence":
            actions = tracker.silence(now, args[0])
        elif kind == "verdict":
            actions = tracker.verdict(args[0], args[1], now)
        elif kind == "probability":
            tracker.probability(args[0], args[1])
            actions = []
        else:
            actions = tracker.flush(now)
        out += [(now, action) for action in actions]
    return out


def complete(p=0.9):
    return Verdict(True, "model", p)


def incomplete(p=0.2):
    return Verdict(False, "model", p)


def test_a_complete_turn_ends_as_soon_as_the_verdict_comes():
    out = run([(0.0, "speech"), (1.0, "speech"), (1.1, "silence", 1.0), (1.2, "silence", 1.0),
               (1.28, "verdict", 0, complete(0.91)), (1.3, "silence", 1.0)])
    assert out == [(1.2, Judge(0, 1.0)), (1.28, TurnEnded(1.28, 1.0, "model", 0.91))]


def test_an_incomplete_turn_waits_for_the_max_delay():
    steps = [(0.0, "speech"), (1.0, "speech"), (1.2, "silence", 1.0), (1.3, "verdict", 0, incomplete())]
    steps += [(1.0 + t / 10, "silence", 1.0) for t in range(4, 40)]
    out = run(steps)
    assert out[0] == (1.2, Judge(0, 1.0))
    assert [a for _, a in out[1:]] == [TurnEnded(3.5, 1.0, "max_delay", 0.2)]


def test_speech_after_a_pause_cancels_the_verdict_and_the_turn_goes_on():
    out = run([(0.0, "speech"), (1.0, "speech"), (1.2, "silence", 1.0),
               (1.5, "speech"),  # "How many minutes are there in ... one hour?"
               (1.6, "verdict", 0, complete()),  # late verdict on the old pause: moot
               (2.4, "speech"), (2.6, "silence", 2.4), (2.65, "verdict", 1, complete(0.8))])
    assert out == [(1.2, Judge(0, 1.0)), (2.6, Judge(1, 2.4)), (2.65, TurnEnded(2.65, 2.4, "model", 0.8))]


def test_without_a_model_the_turn_ends_on_silence():
    steps = [(0.0, "speech"), (1.0, "speech"), (1.2, "silence", 1.0),
             (1.4, "verdict", 0, Verdict(None, "silence", None))]
    steps += [(1.0 + t / 10, "silence", 1.0) for t in range(5, 12)]
    out = run(steps)
    assert [a for _, a in out[1:]] == [TurnEnded(1.9, 1.0, "silence", None)]


def test_a_verdict_that_never_comes_does_not_hang_the_turn():
    steps = [(0.0, "speech"), (1.0, "speech")] + [(1.0 + t / 10, "silence", 1.0) for t in range(1, 40)]
    out = run(steps)
    assert [a for _, a in out] == [Judge(0, 1.0), TurnEnded(3.5, 1.0, "silence", None)]


def test_silence_with_no_turn_open_does_nothing_and_a_turn_ends_once():
    out = run([(0.5, "silence", 0.0), (1.0, "speech"), (1.2, "silence", 1.0), (1.25, "verdict", 0, complete()),
               (1.3, "verdict", 0, complete()), (5.0, "silence", 1.0), (6.0, "flush")])
    assert [a for _, a in out] == [Judge(0, 1.0), TurnEnded(1.25, 1.0, "model", 0.9)]


def test_flush_ends_an_open_turn():
    assert run([(0.0, "speech"), (0.5, "flush")]) == [(0.5, TurnEnded(0.5, 0.5, "flush", None))]


def test_a_long_turn_still_ends():
    steps = [(t / 10, "speech") for t in range(0, 120)]  # 12 s of speech: longer than the model's 8 s window
    steps += [(12.1, "silence", 11.9), (12.2, "verdict", 0, complete(0.7))]
    assert run(steps)[-1] == (12.2, TurnEnded(12.2, 11.9, "model", 0.7))


def test_words_too_slow_to_decode_end_the_turn_at_the_max_delay_with_the_models_answer():
    steps = [(0.0, "speech"), (1.0, "speech"), (1.2, "silence", 1.0), (1.3, "probability", 0, 0.93)]
    steps += [(1.0 + t / 10, "silence", 1.0) for t in range(4, 40)]
    assert [a for _, a in run(steps)] == [Judge(0, 1.0), TurnEnded(3.5, 1.0, "silence", 0.93)]
