"""Two-speaker conversations spliced from real recordings of different people.

Each clip is trimmed to its speech and brought to one loudness; the clips of two speakers
alternate with a chosen gap: short pauses, none at all, or overlap (the next speaker starts
before the last one stops, mixed). The reference turns are the loud stretches of each clip
(pauses inside a clip of 0.3 s or more split a turn), so DER is scored against where speech
really is, and each clip's words go to the STM segment that spans it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from bench.audio import trim_silence
from bench.reference import RefTurn

from .sources import SAMPLE_RATE, RealClip

_TARGET_RMS = 0.08  # speech frames, about -22 dBFS
_LOUD_DB = 35.0  # below the clip's loudest 10 ms frame: not speech
_SPLIT_PAUSE_S = 0.3
GAPS = {"gaps": (0.15, 0.5), "nogap": (0.0, 0.0), "overlap": (-0.7, -0.2)}


def _frame_rms(samples: np.ndarray, frame: int) -> np.ndarray:
    n = len(samples) // frame
    return np.sqrt(np.mean(samples[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)


def loud_regions(samples: np.ndarray, min_pause_s: float = _SPLIT_PAUSE_S) -> list[tuple[float, float]]:
    """(start, end) seconds of speech; pauses shorter than `min_pause_s` are bridged."""
    frame = SAMPLE_RATE // 100
    rms = _frame_rms(samples, frame)
    if rms.size == 0:
        return []
    regions: list[tuple[float, float]] = []
    for i in np.flatnonzero(rms > rms.max() * 10 ** (-_LOUD_DB / 20)):
        start, end = i / 100, (i + 1) / 100
        if regions and start - regions[-1][1] < min_pause_s:
            regions[-1] = (regions[-1][0], end)
        else:
            regions.append((start, end))
    return regions


def prepare(samples: np.ndarray) -> np.ndarray:
    """Speech only (trimmed) at one loudness."""
    audio = trim_silence(samples, SAMPLE_RATE, _LOUD_DB)
    rms = _frame_rms(audio, SAMPLE_RATE // 100)
    speech = rms[rms > rms.max() * 0.1]
    gain = _TARGET_RMS / float(np.sqrt(np.mean(speech ** 2)))
    return (audio * min(gain, 0.95 / float(np.abs(audio).max()))).astype(np.float32)


def splice(first: Sequence[RealClip], second: Sequence[RealClip], mode: str, *, seed: int = 0,
           lead_s: float = 0.5, tail_s: float = 1.5) -> tuple[np.ndarray, list[RefTurn], list[RefTurn]]:
    """Alternate the two speakers' clips; returns (audio, RTTM turns, STM segments)."""
    low, high = GAPS[mode]
    rng = random.Random(seed)
    order = [clip for pair in zip(first, second) for clip in pair]
    order += list(first[len(second):]) + list(second[len(first):])
    pieces = [(prepare(clip.samples), clip) for clip in order]
    starts, cursor = [], lead_s
    for k, (audio, _) in enumerate(pieces):
        if k:
            previous = len(pieces[k - 1][0]) / SAMPLE_RATE
            cursor += max(rng.uniform(low, high), -previous / 2)  # overlap at most half a turn
        starts.append(cursor)
        cursor += len(audio) / SAMPLE_RATE
    total = np.zeros(int(round((cursor + tail_s) * SAMPLE_RATE)), dtype=np.float32)
    rttm: list[RefTurn] = []
    stm: list[RefTurn] = []
    for start, (audio, clip) in zip(starts, pieces):
        at = int(round(start * SAMPLE_RATE))
        total[at:at + len(audio)] += audio
        stm.append(RefTurn(round(start, 3), round(start + len(audio) / SAMPLE_RATE, 3), clip.speaker, clip.text))
        rttm += [RefTurn(round(start + a, 3), round(start + b, 3), clip.speaker) for a, b in loud_regions(audio)]
    return np.clip(total, -1.0, 1.0), rttm, stm
