"""File transcription's speaker pass: re-segment and re-cluster the whole file at once.

Live diarization must label each final as it comes; a file can be looked at whole. The VAD's
utterances often hold two voices (no pause between turns), so:
1. every utterance is covered by voice-embedding windows (`WINDOW_S` long, every `HOP_S`);
2. the windows start as one speaker, and another is split off while the split is clear
   (`_more_speakers`: the new cluster has enough windows and its centroid is less alike to
   every other than the speaker model's `split` similarity); k-means (cosine) then labels all
   windows. Seeding from whole utterances instead found one speaker on the dev set's real
   telephone call, whose utterances each hold both women (bench/RESULTS.md). When the caller
   knows how many people speak (`speakers`), k-means gets exactly that many;
3. window labels are smoothed (a run shorter than `MIN_RUN` windows joins its neighbours) and
   each utterance is cut where the label changes, at a window boundary.
Each piece is then decoded and labelled on its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .protocol import MAX_SPEAKERS, SAMPLE_RATE

WINDOW_S = 1.0
HOP_S = 0.5
MIN_RUN = 2  # windows: a shorter stretch of another label is noise
KMEANS_ROUNDS = 10
MIN_CLUSTER_WINDOWS = 4  # 3 s of windows: a voice heard less is not split off

Embed = Callable[[list[np.ndarray]], Awaitable[list[np.ndarray | None]]]


@dataclass(frozen=True)
class Piece:
    start: int  # samples from the file start
    end: int
    speaker: str


async def speaker_pieces(utterances: Sequence[tuple[int, np.ndarray]], embed: Embed,
                         split: float, *, speakers: int | None = None) -> list[Piece]:
    """`utterances` are (start sample, audio). Returns them cut at speaker changes, labelled S1, S2, ...

    `split`: the speaker model's similarity below which two clusters are two voices (VoiceSimilarity).
    `speakers`: how many people speak, when the caller knows; otherwise found from the voices."""
    window, hop = int(WINDOW_S * SAMPLE_RATE), int(HOP_S * SAMPLE_RATE)
    spans: list[tuple[int, int, int]] = []  # (utterance index, start within it, end within it)
    for index, (_, audio) in enumerate(utterances):
        starts = range(0, max(1, len(audio) - window + hop), hop)
        spans += [(index, s, min(len(audio), s + window)) for s in starts]
    vectors = await embed([utterances[i][1][s:e] for i, s, e in spans])
    seeds = _farthest_seeds(vectors, speakers) if speakers else _more_speakers(vectors, split)
    labels = _kmeans(vectors, seeds)
    pieces: list[Piece] = []
    for index, (start, audio) in enumerate(utterances):
        mine = [(s, e, label) for (i, s, e), label in zip(spans, labels) if i == index]
        for begin, end, label in _runs(mine, len(audio)):
            label = label or (pieces[-1].speaker if pieces else "k0")
            pieces.append(Piece(start + begin, start + end, label))
    return _renumber(pieces)


def _more_speakers(vectors: list[np.ndarray | None], split: float) -> np.ndarray:
    """Centroids: one voice, then another split off while the split is clear. A split is kept when the
    new cluster has `MIN_CLUSTER_WINDOWS` windows and its centroid is less similar than `split` to every
    other. Each split starts from the window least like every centroid, or, when that one is a stray
    (its cluster stays too small), from the mean of the least alike tenth."""
    known = [v for v in vectors if v is not None]
    if not known:
        return np.zeros((0, 0))
    data = np.stack(known)
    mean = data.mean(axis=0)
    centroids = (mean / (np.linalg.norm(mean) + 1e-9))[None]
    while len(centroids) < MAX_SPEAKERS:
        for start in (_farthest, _least_alike_tenth):  # the second only when the first fails
            trial = _refine(data, np.vstack([centroids, start(data, centroids)]))
            sizes = np.bincount(np.argmax(data @ trial.T, axis=1), minlength=len(trial))
            if sizes.min() >= MIN_CLUSTER_WINDOWS and float(np.max(trial[:-1] @ trial[-1])) < split:
                break
        else:
            return centroids
        centroids = trial
    return centroids


def _least_alike_tenth(data: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    nearest = np.max(data @ centroids.T, axis=1)
    mean = data[np.argsort(nearest)[:max(MIN_CLUSTER_WINDOWS, len(data) // 10)]].mean(axis=0)
    return mean / (np.linalg.norm(mean) + 1e-9)


def _farthest_seeds(vectors: list[np.ndarray | None], count: int) -> np.ndarray:
    """`count` starting centroids: the window least like the file's average voice, then each time the
    window least like every centroid so far (deterministic, unlike random k-means++ starts)."""
    known = [v for v in vectors if v is not None]
    if not known:
        return np.zeros((0, 0))
    data = np.stack(known)
    centroids = data[[int(np.argmin(data @ data.mean(axis=0)))]]
    while len(centroids) < min(count, len(data)):
        centroids = np.vstack([centroids, _farthest(data, centroids)])
    return centroids


def _farthest(data: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The window least like its nearest centroid."""
    return data[int(np.argmin(np.max(data @ centroids.T, axis=1)))]


def _refine(data: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    centroids = centroids.copy()
    for _ in range(KMEANS_ROUNDS):
        assigned = np.argmax(data @ centroids.T, axis=1)
        for k in range(len(centroids)):
            if np.any(assigned == k):
                mean = data[assigned == k].mean(axis=0)
                centroids[k] = mean / (np.linalg.norm(mean) + 1e-9)
    return centroids


def _kmeans(vectors: list[np.ndarray | None], seeds: np.ndarray) -> list[int | None]:
    known = [i for i, v in enumerate(vectors) if v is not None]
    labels: list[int | None] = [None] * len(vectors)
    if not known or not len(seeds):
        return labels
    data = np.stack([vectors[i] for i in known])
    centroids = _refine(data, seeds)
    for i, label in zip(known, np.argmax(data @ centroids.T, axis=1)):
        labels[i] = int(label)
    return labels


def _runs(windows: list[tuple[int, int, int | None]], length: int) -> list[tuple[int, int, str]]:
    """One utterance's windows -> (start, end, label) pieces, short runs absorbed, cut at window starts."""
    filled = _fill_unknown([label for _, _, label in windows])
    if not filled or filled[0] is None:
        return [(0, length, "")]  # too little voice anywhere: the previous speaker's
    pieces: list[tuple[int, int, str]] = []
    for (start, _, _), label in zip(windows, _absorb_short_runs(filled)):
        if pieces and pieces[-1][2] == f"k{label}":
            continue
        # The two windows overlap by WINDOW - HOP; the change is likeliest in the middle of that.
        cut = start + int((WINDOW_S - HOP_S) / 2 * SAMPLE_RATE) if pieces else 0
        if pieces:
            pieces[-1] = (pieces[-1][0], cut, pieces[-1][2])
        pieces.append((cut, length, f"k{label}"))
    return pieces


def _fill_unknown(labels: list[int | None]) -> list[int | None]:
    out = list(labels)
    for i in range(1, len(out)):
        if out[i] is None:
            out[i] = out[i - 1]
    for i in range(len(out) - 2, -1, -1):
        if out[i] is None:
            out[i] = out[i + 1]
    return out


def _absorb_short_runs(labels: list[int]) -> list[int]:
    runs: list[list] = []  # [label, length]
    for label in labels:
        if runs and runs[-1][0] == label:
            runs[-1][1] += 1
        else:
            runs.append([label, 1])
    changed = True
    while changed and len(runs) > 1:
        changed = False
        for i, (label, length) in enumerate(runs):
            if length < MIN_RUN:
                neighbour = runs[i - 1] if i > 0 else runs[i + 1]
                neighbour[1] += length
                del runs[i]
                merged: list[list] = []
                for run in runs:
                    if merged and merged[-1][0] == run[0]:
                        merged[-1][1] += run[1]
                    else:
                        merged.append(run)
                runs = merged
                changed = True
                break
    return [label for label, length in runs for _ in range(length)]


def _renumber(pieces: list[Piece]) -> list[Piece]:
    """S1 is whoever speaks first, S2 the next new voice, and so on."""
    mapping: dict[str, str] = {}
    return [Piece(p.start, p.end, mapping.setdefault(p.speaker, f"S{len(mapping) + 1}")) for p in pieces]
