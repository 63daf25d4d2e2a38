"""The online diarizer: a sequence of (voice, seconds) utterances in, a sequence of labels out.

Voices are random unit vectors with per-utterance noise (the stream feeds it real embeddings;
the real call is in test_caption_finals_real.py).
"""

from __future__ import annotations

import numpy as np

from inference_server.diarization import OnlineDiarizer

rng = np.random.default_rng(11)
VOICES = {v: (lambda c: c / np.linalg.norm(c))(np.random.default_rng(v).normal(size=192)) for v in (1, 2, 3)}


def utterance(voice: int, noise: float = 0.4) -> np.ndarray:
    v = VOICES[voice] + rng.normal(scale=noise / np.sqrt(192), size=192)
    return v / np.linalg.norm(v)


def labels(sequence: list[tuple[int | None, float]], threshold: float = 0.65) -> list[str]:
    diarizer = OnlineDiarizer(threshold=threshold)
    return [diarizer.assign(None if voice is None else utterance(voice), seconds) for voice, seconds in sequence]


def test_long_turns_of_two_voices_get_two_labels():
    assert labels([(1, 3.0), (2, 2.5), (1, 4.0), (2, 1.5)]) == ["S1", "S2", "S1", "S2"]


def test_a_short_opening_whose_voice_matches_no_one_hands_its_label_to_the_first_long_turn():
    # "Hello." (0.8 s) embeds about equally unlike everyone: noise 3 makes it match neither voice.
    diarizer = OnlineDiarizer(threshold=0.65)
    opening = utterance(1, noise=3.0)
    assert diarizer.assign(opening, 0.8) == "S1"
    assert [diarizer.assign(utterance(v), s) for v, s in [(1, 2.0), (2, 3.0), (1, 2.5), (2, 2.0)]] \
        == ["S1", "S2", "S1", "S2"]
    assert len(diarizer.speakers) == 2


def test_several_short_openings_stay_provisional_until_a_long_turn():
    assert labels([(1, 0.6), (1, 0.5), (2, 3.0), (1, 3.0), (2, 2.0)]) == ["S1", "S1", "S1", "S2", "S1"]


def test_a_speaker_confirmed_by_a_long_turn_is_never_handed_over():
    # Once a long turn matched the opening speaker, a new voice opens a speaker of its own.
    assert labels([(1, 0.8), (1, 3.0), (2, 3.0), (1, 2.0)]) == ["S1", "S1", "S2", "S1"]
    assert labels([(1, 3.0), (2, 2.5), (3, 3.0)]) == ["S1", "S2", "S3"]


def test_a_second_voice_heard_only_briefly_hands_its_label_to_the_next_unknown_voice():
    # A 1.5 s reply under the first voice embeds poorly (noise 3): the second voice's next turn would not match it.
    diarizer = OnlineDiarizer(threshold=0.65)
    assert diarizer.assign(utterance(1), 4.0) == "S1"
    assert diarizer.assign(utterance(2, noise=3.0), 1.5) == "S2"
    assert [diarizer.assign(utterance(v), s) for v, s in [(1, 3.0), (2, 1.5), (1, 2.0), (2, 2.5)]] \
        == ["S1", "S2", "S1", "S2"]
    assert len(diarizer.speakers) == 2


def test_a_long_first_turn_is_never_provisional():
    assert labels([(1, 3.0), (2, 3.0), (3, 3.0)]) == ["S1", "S2", "S3"]


def test_a_short_turn_joins_the_nearest_speaker_and_an_unembeddable_one_the_previous():
    assert labels([(1, 3.0), (2, 3.0), (1, 0.5), (None, 0.2), (2, 0.6)]) == ["S1", "S2", "S1", "S1", "S2"]
