"""Turns with a natural pause in the middle: the end-of-turn detector must not answer into it.

* Real speech: each LibriVox clip (one read sentence) gets a 0.4-1.0 s pause inserted at a
  word boundary near its middle (the quietest 10 ms stretch between words, found from the
  signal's energy: no aligner needed). Real prosody: a synthetic voice misleads a turn model.
* Piper questions spoken in two parts ("How many minutes are there in" ... "one hour?"),
  the second after a pause: a trailing word the transcript cues must catch.

`mid_sentence_cut` gives the same real clips cut at that boundary (no rest): an unfinished
turn for testing the turn model against the whole, finished clip.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from .audio import PIPER_JOE, SAMPLE_RATE, Clip, cache_dir, librivox_clips, load_pcm16k, render_turn

FRAME_S = 0.01
PAUSES_S = (0.4, 0.6, 0.8, 1.0)
# Spoken in two parts, a pause after the first: every split leaves the first part unfinished.
PIPER_SPLIT_QUESTIONS = (
    ("How many minutes are there in", "one hour?"),
    ("What is the capital city of", "France?"),
    ("How many legs does a", "spider have?"),
    ("Can you tell me the opposite of", "hot?"),
)


@dataclass(frozen=True)
class PausedTurn:
    name: str
    text: str
    audio: np.ndarray  # float32 at `SAMPLE_RATE`
    pause_at: float  # seconds: where the inserted pause starts
    pause_s: float


def word_boundary(audio: np.ndarray, sample_rate: int = SAMPLE_RATE, *, within: tuple[float, float] = (0.35, 0.65)) -> float:
    """Seconds into `audio` of the quietest 30 ms between words within the `within` fraction of its speech."""
    frame = int(FRAME_S * sample_rate)
    n = len(audio) // frame
    rms = np.sqrt(np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(rms > rms.max() * 10 ** (-35 / 20))
    first, last = loud[0], loud[-1]
    lo, hi = first + int((last - first) * within[0]), first + int((last - first) * within[1])
    smooth = np.convolve(rms, np.ones(3) / 3, mode="same")  # 30 ms: a dip between words, not a plosive
    best = lo + int(np.argmin(smooth[lo:hi]))
    return best * FRAME_S


def mid_sentence_cut(clip: Clip, sample_rate: int = SAMPLE_RATE) -> tuple[np.ndarray, np.ndarray]:
    """(whole clip, the clip cut at a word boundary near its middle)."""
    audio = load_pcm16k(clip.path, sample_rate)
    cut = int(word_boundary(audio, sample_rate) * sample_rate)
    return audio, audio[:cut]


def _with_pause(audio: np.ndarray, at_s: float, pause_s: float, sample_rate: int) -> np.ndarray:
    at = int(at_s * sample_rate)
    return np.concatenate([audio[:at], np.zeros(int(pause_s * sample_rate), np.float32), audio[at:]])


def paused_turns(sample_rate: int = SAMPLE_RATE) -> list[PausedTurn]:
    turns = []
    for i, clip in enumerate(librivox_clips()):
        audio = load_pcm16k(clip.path, sample_rate)
        at, pause = word_boundary(audio, sample_rate), PAUSES_S[i % len(PAUSES_S)]
        turns.append(PausedTurn(f"librivox-{clip.name}", clip.text, _with_pause(audio, at, pause, sample_rate),
                                at, pause))
    for i, (head, tail) in enumerate(PIPER_SPLIT_QUESTIONS):
        first = render_turn(PIPER_JOE, head, sample_rate=sample_rate)
        second = render_turn(PIPER_JOE, tail, sample_rate=sample_rate)
        pause = PAUSES_S[(i + 1) % len(PAUSES_S)]
        audio = np.concatenate([first, np.zeros(int(pause * sample_rate), np.float32), second])
        turns.append(PausedTurn(f"piper-split-{i}", f"{head} {tail}", audio, len(first) / sample_rate, pause))
    return turns


def write_paused_turns(directory: Path | None = None) -> list[Path]:
    """The paused turns as 16 kHz WAV files (for `parley bench voice --audio`)."""
    directory = directory or cache_dir() / "paused"
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for turn in paused_turns():
        path = directory / f"{turn.name}-pause{int(turn.pause_s * 1000)}ms.wav"
        sf.write(str(path), turn.audio, SAMPLE_RATE, subtype="PCM_16")
        paths.append(path)
    return paths
