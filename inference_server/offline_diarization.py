"""File transcription's speaker pass: re-segment and re-cluster the whole file at once.

Live diarization must label each final as it comes; a file can be looked at whole. The VAD's
utterances often hold two voices (no pause between turns), so:
1. each utterance is cut where the voice changes: the live path's change detector
   (speaker_changes.py) over `WINDOW_S` windows every `HOP_S`, at the model's `change`
   similarity, with no piece shorter than `MIN_PIECE_S`;
2. each piece is embedded whole (a few seconds of one voice embeds far more reliably than a
   1 s window), and the pieces are clustered, weighted by length: one voice first, another
   split off while the split is clear (the new cluster holds `MIN_CLUSTER_S` of speech and its
   centroid is less alike than the model's `split` similarity to every other). When the caller
   knows how many people speak (`speakers`), the clustering gets exactly that many;
3. neighbouring pieces of one utterance with the same label are joined again, so a false change
   inside one voice costs nothing; each piece is then decoded and labelled on its own.
Labelling 1 s windows and cutting where their labels changed (the pass before this) put 2 s of
one woman under the other's label on the dev set's real call (bench/RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .models.speaker import VoiceSimilarity
from .protocol import MAX_SPEAKERS, SAMPLE_RATE
from .speaker_changes import SpeakerChangeDetector

WINDOW_S = 1.0
HOP_S = 0.5
MIN_PIECE_S = 0.5  # a change closer than this to an utterance's edge is not cut
MIN_CLUSTER_S = 3.0  # a voice heard less than this in the whole file is not split off
KMEANS_ROUNDS = 20

Embed = Callable[[list[np.ndarray]], Awaitable[list[np.ndarray | None]]]


@dataclass(frozen=True)
class Piece:
    start: int  # samples from the file start
    end: int
    speaker: str


async def speaker_pieces(utterances: Sequence[tuple[int, np.ndarray]], embed: Embed,
                         similarity: VoiceSimilarity, *, speakers: int | None = None) -> list[Piece]:
    """`utterances` are (start sample, audio). Returns them cut at speaker changes, labelled S1, S2, ...

    `similarity`: the speaker model's scale (its `change` cuts utterances, its `split` separates voices).
    `speakers`: how many people speak, when the caller knows; otherwise found from the voices."""
    cuts = await _change_points(utterances, embed, similarity.change)
    spans = [(index, begin, end) for index, points in enumerate(cuts) for begin, end in zip(points, points[1:])]
    vectors = await embed([utterances[i][1][begin:end] for i, begin, end in spans])
    weights = np.array([(end - begin) / SAMPLE_RATE for _, begin, end in spans])
    labels = _cluster(vectors, weights, similarity.split, speakers)
    pieces: list[tuple[int, Piece]] = []  # (utterance index, piece)
    for (index, begin, end), label in zip(spans, _fill_unknown(labels)):
        start, speaker = utterances[index][0], f"k{label or 0}"  # None: no piece could be embedded
        if pieces and pieces[-1][0] == index and pieces[-1][1].speaker == speaker:
            pieces[-1] = (index, Piece(pieces[-1][1].start, start + end, speaker))
        else:
            pieces.append((index, Piece(start + begin, start + end, speaker)))
    return _renumber([piece for _, piece in pieces])


async def _change_points(utterances: Sequence[tuple[int, np.ndarray]], embed: Embed,
                         change: float) -> list[list[int]]:
    """Per utterance: 0, its speaker changes, its length (samples within it)."""
    window, hop, edge = int(WINDOW_S * SAMPLE_RATE), int(HOP_S * SAMPLE_RATE), int(MIN_PIECE_S * SAMPLE_RATE)
    ends = [list(range(window, len(audio) + 1, hop)) for _, audio in utterances]
    vectors = iter(await embed([audio[end - window:end] for (_, audio), mine in zip(utterances, ends)
                                for end in mine]))
    points = []
    for (_, audio), mine in zip(utterances, ends):
        detector = SpeakerChangeDetector(window=window, hop=hop, threshold=change)
        detector.start(0)
        found = [detector.add(end, next(vectors)) for end in mine] + [detector.pending()]
        points.append([0] + [p for p in found if p is not None and edge <= p <= len(audio) - edge] + [len(audio)])
    return points


def _cluster(vectors: list[np.ndarray | None], weights: np.ndarray, split: float,
             speakers: int | None) -> list[int | None]:
    known = [i for i, v in enumerate(vectors) if v is not None]
    labels: list[int | None] = [None] * len(vectors)
    if not known:
        return labels
    data, weight = np.stack([vectors[i] for i in known]), weights[known]
    centroids = _farthest_seeds(data, weight, speakers) if speakers else _more_speakers(data, weight, split)
    for i, label in zip(known, np.argmax(data @ _refine(data, weight, centroids).T, axis=1)):
        labels[i] = int(label)
    return labels


def _more_speakers(data: np.ndarray, weight: np.ndarray, split: float) -> np.ndarray:
    """Centroids for as many voices as are clearly there. For each count, k-means from `_farthest_seeds`;
    clusters holding less than `MIN_CLUSTER_S` of speech are strays (their pieces join the nearest voice
    later), and the rest count as voices if no two centroids are as alike as `split`. The count giving
    the most voices wins: every count is tried, since a farthest seed may be a stray piece."""
    centroids = _mean(data, weight)[None]
    for count in range(2, min(MAX_SPEAKERS, len(data)) + 1):
        trial = _refine(data, weight, _farthest_seeds(data, weight, count))
        seconds = np.bincount(np.argmax(data @ trial.T, axis=1), weights=weight, minlength=count)
        voices = trial[seconds >= MIN_CLUSTER_S]
        alike = voices @ voices.T - 2 * np.eye(len(voices))
        if len(voices) > len(centroids) and float(alike.max()) < split:
            centroids = voices
    return centroids


def _farthest_seeds(data: np.ndarray, weight: np.ndarray, count: int) -> np.ndarray:
    """`count` starting centroids: the piece least like the file's average voice, then each time the
    piece least like every centroid so far (deterministic, unlike random k-means++ starts)."""
    centroids = data[[int(np.argmin(data @ _mean(data, weight)))]]
    while len(centroids) < min(count, len(data)):
        centroids = np.vstack([centroids, _farthest(data, centroids)])
    return centroids


def _farthest(data: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    return data[int(np.argmin(np.max(data @ centroids.T, axis=1)))]


def _mean(data: np.ndarray, weight: np.ndarray) -> np.ndarray:
    total = (data * weight[:, None]).sum(axis=0)
    return total / (np.linalg.norm(total) + 1e-9)


def _refine(data: np.ndarray, weight: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Cosine k-means, each piece weighted by its length."""
    centroids = centroids.copy()
    for _ in range(KMEANS_ROUNDS):
        assigned = np.argmax(data @ centroids.T, axis=1)
        for k in range(len(centroids)):
            if np.any(assigned == k):
                centroids[k] = _mean(data[assigned == k], weight[assigned == k])
    return centroids


def _fill_unknown(labels: list[int | None]) -> list[int | None]:
    """A piece too short to embed takes its predecessor's label (the first, its successor's)."""
    out = list(labels)
    for i in range(1, len(out)):
        if out[i] is None:
            out[i] = out[i - 1]
    for i in range(len(out) - 2, -1, -1):
        if out[i] is None:
            out[i] = out[i + 1]
    return out


def _renumber(pieces: list[Piece]) -> list[Piece]:
    """S1 is whoever speaks first, S2 the next new voice, and so on."""
    mapping: dict[str, str] = {}
    return [Piece(p.start, p.end, mapping.setdefault(p.speaker, f"S{len(mapping) + 1}")) for p in pieces]
