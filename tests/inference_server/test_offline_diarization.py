"""The file speaker pass: utterances cut where the voice changes, pieces clustered, labels shared.

Test audio names its voice by level (0.1 is voice 0, 0.2 voice 1, ...); the fake embedder mixes the
voices' axes by how much of the clip each holds, as a real window spanning a change does. The real
call and the dev set's splices run through the real models in test_transcribe_real_call.py.
"""

from __future__ import annotations

import numpy as np

from inference_server.models.speaker import VoiceSimilarity
from inference_server.offline_diarization import HOP_S, MIN_CLUSTER_S, MIN_OVERLAP_S, speaker_pieces
from inference_server.protocol import SAMPLE_RATE
from inference_server.speaker_activity import SpeakerActivity

SIMILARITY = VoiceSimilarity(same_speaker=0.65, change=0.55, split=0.72)  # CAM++'s scale


def speech(*turns: tuple[int, float]) -> np.ndarray:
    return np.concatenate([np.full(int(seconds * SAMPLE_RATE), 0.1 * (voice + 1), np.float32)
                           for voice, seconds in turns])


def embedder(axes: np.ndarray, noise: float = 0.05):
    async def embed(clips):
        rng = np.random.default_rng(len(clips))
        out = []
        for clip in clips:
            if len(clip) < 0.4 * SAMPLE_RATE:
                out.append(None)
                continue
            share = np.bincount(np.round(clip * 10).astype(int) - 1, minlength=len(axes)) / len(clip)
            v = share @ axes + rng.normal(scale=noise, size=axes.shape[1])
            out.append(v / np.linalg.norm(v))
        return out
    return embed


DISTINCT = embedder(np.eye(8))


async def test_an_utterance_holding_two_voices_is_cut_at_the_change_and_labels_are_shared_across_the_file():
    first = speech((0, 6.0), (1, 5.0))  # no pause at the change
    second = speech((1, 4.0))
    pieces = await speaker_pieces([(0, first), (20 * SAMPLE_RATE, second)], DISTINCT, SIMILARITY)
    assert [p.speaker for p in pieces] == ["S1", "S2", "S2"]
    assert abs(pieces[0].end / SAMPLE_RATE - 6.0) <= HOP_S / 2
    assert pieces[1].start == pieces[0].end and pieces[1].end == len(first)
    assert pieces[2].start == 20 * SAMPLE_RATE


async def test_back_and_forth_turns_without_pauses_are_each_cut():
    audio = speech((0, 4.0), (1, 3.0), (0, 5.0), (1, 4.0))
    pieces = await speaker_pieces([(0, audio)], DISTINCT, SIMILARITY)
    assert [p.speaker for p in pieces] == ["S1", "S2", "S1", "S2"]
    assert [round(p.end / SAMPLE_RATE) for p in pieces] == [4, 7, 12, 16]


async def test_a_blip_of_another_voice_does_not_split_an_utterance():
    audio = speech((0, 4.0), (1, 0.6), (0, 4.0))
    pieces = await speaker_pieces([(0, audio)], DISTINCT, SIMILARITY)
    assert len(pieces) == 1 and pieces[0].speaker == "S1"


async def test_a_voice_heard_too_briefly_in_the_file_joins_the_nearest_voice_without_hiding_the_others():
    # Voice 2 speaks for less than MIN_CLUSTER_S: its cluster is a stray, and the two real voices stay apart
    # (the farthest seed of a two-voice split is that stray, so a split count that fails is not the answer).
    brief = MIN_CLUSTER_S - 1.0
    utterances = [(0, speech((0, 6.0))), (8 * SAMPLE_RATE, speech((1, 6.0))), (16 * SAMPLE_RATE, speech((2, brief))),
                  (20 * SAMPLE_RATE, speech((0, 4.0)))]
    pieces = await speaker_pieces(utterances, DISTINCT, SIMILARITY)
    assert [p.speaker for p in pieces][:2] == ["S1", "S2"] and pieces[3].speaker == "S1"
    assert len({p.speaker for p in pieces}) == 2


async def test_three_voices_each_heard_long_enough_get_three_labels():
    utterances = [(i * 8 * SAMPLE_RATE, speech((voice, 5.0))) for i, voice in enumerate((0, 1, 2, 1, 0))]
    pieces = await speaker_pieces(utterances, DISTINCT, SIMILARITY)
    assert [p.speaker for p in pieces] == ["S1", "S2", "S3", "S2", "S1"]


async def test_one_voice_throughout_keeps_one_label_and_one_piece_per_utterance():
    utterances = [(0, speech((0, 9.0))), (10 * SAMPLE_RATE, speech((0, 7.0)))]
    pieces = await speaker_pieces(utterances, embedder(np.eye(8), noise=0.3), SIMILARITY)
    assert [(p.start, p.end, p.speaker) for p in pieces] == [(0, 9 * SAMPLE_RATE, "S1"),
                                                          (10 * SAMPLE_RATE, 17 * SAMPLE_RATE, "S1")]


async def test_an_utterance_too_short_to_embed_takes_the_previous_speaker():
    pieces = await speaker_pieces([(0, speech((1, 3.0))), (SAMPLE_RATE * 5, speech((0, 0.3)))], DISTINCT,
                                  SIMILARITY)
    assert [p.speaker for p in pieces] == ["S1", "S1"]


# Two voices whose embeddings are close (cosine ~0.95), as two women on a phone line can be.
ALIKE = embedder(np.array([[1.0, 0.0, 0.0, 0.0], [0.95, 0.31, 0.0, 0.0]]), noise=0.01)


async def test_a_known_speaker_count_separates_voices_no_threshold_would():
    utterances = [(i * 6 * SAMPLE_RATE, speech((voice, 5.0))) for i, voice in enumerate((0, 1, 0))]
    found = await speaker_pieces(utterances, ALIKE, SIMILARITY)
    assert {p.speaker for p in found} == {"S1"}  # too alike to split unasked
    told = await speaker_pieces(utterances, ALIKE, SIMILARITY, speakers=2)
    assert [p.speaker for p in told] == ["S1", "S2", "S1"]


async def test_one_speaker_told_keeps_one_label():
    pieces = await speaker_pieces([(0, speech((0, 4.0), (1, 4.0)))], DISTINCT, SIMILARITY, speakers=1)
    assert {p.speaker for p in pieces} == {"S1"}


async def test_no_utterances_give_no_pieces_and_none_embeddable_gives_one_speaker():
    assert await speaker_pieces([], DISTINCT, SIMILARITY) == []
    pieces = await speaker_pieces([(0, speech((0, 0.3))), (SAMPLE_RATE, speech((1, 0.2)))], DISTINCT, SIMILARITY)
    assert [p.speaker for p in pieces] == ["S1", "S1"]


def activity(seconds: float, *, changes: tuple[float, ...] = (), two: tuple[tuple[float, float], ...] = ()):
    """What the segmentation model would report: changes at these times, two voices in these spans."""
    step = SAMPLE_RATE // 100
    count = np.ones(int(seconds * 100) + 1, dtype=int)
    for begin, end in two:
        count[int(begin * 100):int(end * 100)] = 2
    return SpeakerActivity(step, step, count, [int(t * SAMPLE_RATE) for t in changes])


ALIKE = embedder(np.array([[1.0, 0.0], [0.9, 0.436]]), noise=0.01)  # two voices 0.9 alike: windows miss the change


async def test_a_change_the_voice_windows_miss_is_cut_where_the_segmentation_model_sees_it():
    audio = speech((0, 4.0), (1, 4.0))
    assert len(await speaker_pieces([(0, audio)], ALIKE, SIMILARITY, speakers=2)) == 1
    pieces = await speaker_pieces([(0, audio)], ALIKE, SIMILARITY, speakers=2, activity=activity(8.0, changes=(4.0,)))
    assert [(p.start, p.end) for p in pieces] == [(0, 4 * SAMPLE_RATE), (4 * SAMPLE_RATE, 8 * SAMPLE_RATE)]
    assert pieces[0].speaker != pieces[1].speaker


async def test_a_change_too_near_an_utterance_edge_or_another_cut_is_not_made():
    audio = speech((0, 4.0), (1, 4.0))
    near = activity(8.0, changes=(0.2, 4.0, 4.3, 7.9))
    pieces = await speaker_pieces([(0, audio)], ALIKE, SIMILARITY, speakers=2, activity=near)
    assert [p.end for p in pieces] == [4 * SAMPLE_RATE, 8 * SAMPLE_RATE]


async def test_where_two_people_speak_at_once_the_other_voice_gets_an_overlap_piece():
    utterances = [(0, speech((0, 6.0))), (7 * SAMPLE_RATE, speech((1, 6.0)))]
    pieces = await speaker_pieces(utterances, DISTINCT, SIMILARITY, activity=activity(13.0, two=((3.0, 3.5),)))
    assert [(p.speaker, p.overlap) for p in pieces] == [("S1", False), ("S2", True), ("S2", False)]
    assert (pieces[1].start, pieces[1].end) == (3 * SAMPLE_RATE, int(3.5 * SAMPLE_RATE))


async def test_one_voice_alone_gets_no_overlap_piece_and_a_very_short_overlap_none_either():
    alone = await speaker_pieces([(0, speech((0, 6.0)))], DISTINCT, SIMILARITY,
                                 activity=activity(6.0, two=((3.0, 3.5),)))
    assert [p.overlap for p in alone] == [False]
    utterances = [(0, speech((0, 6.0))), (7 * SAMPLE_RATE, speech((1, 6.0)))]
    brief = await speaker_pieces(utterances, DISTINCT, SIMILARITY,
                                 activity=activity(13.0, two=((3.0, 3.0 + MIN_OVERLAP_S / 2),)))
    assert not any(p.overlap for p in brief)
