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
With the segmentation model's view of the file (`activity`, speaker_activity.py), utterances are
also cut where it sees the voice change, and where it hears two people at once the other voice
(the nearest piece of another speaker) gets an overlap piece of its own: on the dev set's real
call these halved the confusion and cut the missed speech from 8 % to 2 % (bench/RESULTS.md).
Labelling 1 s windows and cutting where their labels changed (the pass before this) put 2 s of
one woman under the other's label on the dev set's real call (bench/RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .models.speaker import VoiceSimilarity
from .protocol import MAX_SPEAKERS, SAMPLE_RATE
from .speaker_activity import SpeakerActivity
from .speaker_changes import SpeakerChangeDetector

WINDOW_S = 1.0
HOP_S = 0.5
MIN_PIECE_S = 0.5  # a change closer than this to an utterance's edge is not cut
MIN_CLUSTER_S = 3.0  # a voice heard less than this in the whole file is not split off
STARTS = 16  # k-means runs per speaker count
MIN_OVERLAP_S = 0.1  # overlapped speech shorter than this is not given to a second voice
KMEANS_ROUNDS = 20

Embed = Callable[[list[np.ndarray]], Awaitable[list[np.ndarray | None]]]


@dataclass(frozen=True)
class Piece:
    start: int  # samples from the file start
    end: int
    speaker: str
    overlap: bool = False  # a second voice heard under another piece


async def speaker_pieces(utterances: Sequence[tuple[int, np.ndarray]], embed: Embed,
                         similarity: VoiceSimilarity, *, speakers: int | None = None,
                         activity: SpeakerActivity | None = None) -> list[Piece]:
    """`utterances` are (start sample, audio). Returns them cut at speaker changes, labelled S1, S2, ...,
    plus the overlap pieces (sorted by start).

    `similarity`: the speaker model's scale (its `change` cuts utterances, its `split` separates voices).
    `speakers`: how many people speak, when the caller knows; otherwise found from the voices.
    `activity`: the segmentation model's changes and overlaps, when it is loaded."""
    cuts = await _change_points(utterances, embed, similarity.change)
    if activity is not None:
        cuts = [_with(points, [c - start for c in activity.changes], len(audio))
                for points, (start, audio) in zip(cuts, utterances)]
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
    labelled = _renumber([piece for _, piece in pieces])
    return labelled if activity is None else sorted(labelled + _overlaps(labelled, activity), key=lambda p: p.start)


def _with(points: list[int], extra: list[int], length: int) -> list[int]:
    """An utterance's cut points (0, ..., `length`) with `extra` ones added, none within `MIN_PIECE_S`
    of another cut or of the edges."""
    edge = int(MIN_PIECE_S * SAMPLE_RATE)
    kept = [0]
    for point in sorted(set(points[1:-1]) | {p for p in extra if 0 < p < length}):
        if point - kept[-1] >= edge and length - point >= edge:
            kept.append(point)
    return kept + [length]


def _overlaps(pieces: list[Piece], activity: SpeakerActivity) -> list[Piece]:
    """Where two people speak at once inside a piece, the other is whoever speaks nearest in time with
    another label (in a call of two, the other person)."""
    found = []
    for piece in pieces:
        for begin, end in activity.overlapped(piece.start, piece.end, int(MIN_OVERLAP_S * SAMPLE_RATE)):
            others = [(max(other.start - end, begin - other.end, 0), other.speaker)
                      for other in pieces if other.speaker != piece.speaker]
            if others:
                found.append(Piece(begin, end, min(others)[1], overlap=True))
    return found


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
    centroids = _clusters(data, weight, speakers or _speaker_count(data, weight, split))
    for i, label in zip(known, np.argmax(data @ centroids.T, axis=1)):
        labels[i] = int(label)
    return labels


def _speaker_count(data: np.ndarray, weight: np.ndarray, split: float) -> int:
    """How many voices are clearly there. For each count, k-means from `_farthest_seeds`; clusters
    holding less than `MIN_CLUSTER_S` of speech are strays (their pieces join the nearest voice later),
    and the rest count as voices if no two centroids are as alike as `split`. The count giving the most
    voices wins: every count is tried, since a farthest seed may be a stray piece."""
    found = 1
    for count in range(2, min(MAX_SPEAKERS, len(data)) + 1):
        trial = _refine(data, weight, _farthest_seeds(data, weight, count))
        seconds = np.bincount(np.argmax(data @ trial.T, axis=1), weights=weight, minlength=count)
        voices = trial[seconds >= MIN_CLUSTER_S]
        alike = voices @ voices.T - 2 * np.eye(len(voices))
        if len(voices) > found and float(alike.max()) < split:
            found = len(voices)
    return found


def _clusters(data: np.ndarray, weight: np.ndarray, count: int) -> np.ndarray:
    """`count` centroids: weighted cosine k-means from several deterministic starts (`_farthest_seeds`,
    and from each of the `STARTS` longest pieces the pieces least like every centroid so far), keeping
    the run whose pieces are most alike to their centroids. One start was not enough: on the real call
    with the segmentation model's cuts, the seeds decided between 10 % and 22 % DER."""
    starts = [_farthest_seeds(data, weight, count)]
    for first in np.argsort(-weight, kind="stable")[:STARTS]:
        starts.append(_seeds(data, data[[int(first)]], count))
    best, best_fit = None, -np.inf
    for seeds in starts:
        centroids = _refine(data, weight, seeds)
        fit = float(weight @ np.max(data @ centroids.T, axis=1))
        if fit > best_fit + 1e-9:
            best, best_fit = centroids, fit
    return best


def _farthest_seeds(data: np.ndarray, weight: np.ndarray, count: int) -> np.ndarray:
    """`count` starting centroids: the piece least like the file's average voice, then each time the
    piece least like every centroid so far (deterministic, unlike random k-means++ starts)."""
    return _seeds(data, data[[int(np.argmin(data @ _mean(data, weight)))]], count)


def _seeds(data: np.ndarray, centroids: np.ndarray, count: int) -> np.ndarray:
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
