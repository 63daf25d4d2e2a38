"""The file speaker pass: windows labelled, short stray labels absorbed, utterances cut at changes."""

from __future__ import annotations

import numpy as np

from inference_server.offline_diarization import HOP_S, WINDOW_S, speaker_pieces
from inference_server.protocol import SAMPLE_RATE


SPLIT = 0.895  # clusters less alike than this are two voices (GE2E's value)


def voice_of(audio: np.ndarray) -> int:
    """Test audio names its voice by level: 0.1 is voice 0, 0.2 voice 1 (a window spanning both: the louder)."""
    return int(np.round(np.median(np.abs(audio)) * 10)) - 1


async def fake_embed(clips):
    """Each clip's embedding is its voice's axis, a little noisy (real GE2E windows are not clean either)."""
    rng = np.random.default_rng(len(clips))
    out = []
    for clip in clips:
        if len(clip) < 0.4 * SAMPLE_RATE:
            out.append(None)
            continue
        v = np.eye(8)[voice_of(clip)] + rng.normal(scale=0.05, size=8)
        out.append(v / np.linalg.norm(v))
    return out


def speech(*turns: tuple[int, float]) -> np.ndarray:
    return np.concatenate([np.full(int(seconds * SAMPLE_RATE), 0.1 * (voice + 1), np.float32) for voice, seconds in turns])


async def test_an_utterance_holding_two_voices_is_cut_near_the_change_and_labels_are_shared_across_the_file():
    first = speech((0, 6.0), (1, 5.0))  # no pause at the change
    second = speech((1, 4.0))
    pieces = await speaker_pieces([(0, first), (20 * SAMPLE_RATE, second)], fake_embed, SPLIT)
    assert [p.speaker for p in pieces] == ["S1", "S2", "S2"]
    assert abs(pieces[0].end / SAMPLE_RATE - 6.0) <= HOP_S
    assert pieces[1].start == pieces[0].end and pieces[1].end == len(first)
    assert pieces[2].start == 20 * SAMPLE_RATE


async def test_a_single_stray_window_does_not_split_an_utterance():
    audio = speech((0, 4.0), (1, WINDOW_S * 0.6), (0, 4.0))  # shorter than two hops of the other voice
    pieces = await speaker_pieces([(0, audio)], fake_embed, SPLIT)
    assert len(pieces) == 1 and pieces[0].speaker == "S1"


async def test_an_utterance_too_short_to_embed_takes_the_previous_speaker():
    pieces = await speaker_pieces([(0, speech((1, 3.0))), (SAMPLE_RATE * 5, speech((0, 0.3)))], fake_embed,
                                  SPLIT)
    assert [p.speaker for p in pieces] == ["S1", "S1"]


async def alike_embed(clips):
    """Two voices whose embeddings are close (cosine ~0.95), as GE2E windows of two women on a phone line are."""
    rng = np.random.default_rng(len(clips))
    axes = np.array([[1.0, 0.0, 0.0, 0.0], [0.95, 0.31, 0.0, 0.0]])
    out = []
    for clip in clips:
        v = axes[voice_of(clip)] + rng.normal(scale=0.01, size=4)
        out.append(v / np.linalg.norm(v))
    return out


async def test_a_known_speaker_count_separates_voices_no_threshold_would():
    audio = speech((0, 5.0), (1, 5.0), (0, 5.0))
    found = await speaker_pieces([(0, audio)], alike_embed, SPLIT)
    assert {p.speaker for p in found} == {"S1"}  # too alike to split unasked
    told = await speaker_pieces([(0, audio)], alike_embed, SPLIT, speakers=2)
    assert [p.speaker for p in told] == ["S1", "S2", "S1"]
    assert [round(p.end / SAMPLE_RATE) for p in told] == [5, 10, 15]


async def test_one_speaker_told_keeps_one_label():
    pieces = await speaker_pieces([(0, speech((0, 4.0), (1, 4.0)))], fake_embed, SPLIT, speakers=1)
    assert {p.speaker for p in pieces} == {"S1"}
