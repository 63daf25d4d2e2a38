"""Scoring metrics for Parley's benchmarks and tests: WER, DER, latency percentiles.

Kept dependency-light: numpy is required; jiwer (fast WER) and scipy (Hungarian
speaker mapping) are used when installed, with pure-Python fallbacks otherwise.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "normalize_text",
    "number_to_words",
    "wer",
    "WERDetails",
    "wer_details",
    "DERResult",
    "der",
    "percentiles",
]

# --------------------------------------------------------------------------- text

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_WORDS = {
    "one": "first", "two": "second", "three": "third", "five": "fifth",
    "eight": "eighth", "nine": "ninth", "twelve": "twelfth",
}
# Spelling variants that ASR systems produce interchangeably (British spellings to American).
_EQUIVALENT_WORDS = {"okay": "ok", "alright": "all right", "metre": "meter", "metres": "meters",
                     "colour": "color", "centre": "center", "favourite": "favorite"}


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    if n >= 100:
        words += [_ONES[n // 100], "hundred"]
        n %= 100
    if n >= 20:
        words.append(_TENS[n // 10])
        n %= 10
        if n:
            words.append(_ONES[n])
    elif n or not words:
        words.append(_ONES[n])
    return words


def number_to_words(n: int, *, years: bool = True) -> str:
    """Spell a non-negative integer the way it is usually read: "1500" -> "one thousand
    five hundred"; with `years`, 1100-1999 and 2010-2099 are read in pairs as years
    ("twenty twenty four"), since that is how people say a bare four-digit number."""
    if n < 0:
        return "minus " + number_to_words(-n, years=years)
    if years and (1100 <= n <= 1999 or 2010 <= n <= 2099):
        hi, lo = divmod(n, 100)
        tail = ["hundred"] if lo == 0 else (["oh", _ONES[lo]] if lo < 10 else _below_thousand(lo))
        return " ".join(_below_thousand(hi) + tail)
    words: list[str] = []
    for value, name in _SCALES:
        if n >= value:
            words += _below_thousand(n // value) + [name]
            n %= value
    if n or not words:
        words += _below_thousand(n)
    return " ".join(words)


def _ordinal(words: str) -> str:
    head, _, last = words.rpartition(" ")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head} {last}".strip()


_NUMBER_RE = re.compile(
    r"(?P<cur>[$£€])?(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?::(?P<min>\d\d))?"
    r"(?:\.(?P<frac>\d+))?(?P<suf>st|nd|rd|th|%)?(?![\w])"
)
_CURRENCY = {"$": "dollars", "£": "pounds", "€": "euros"}


def _spell_number(m: re.Match[str]) -> str:
    n = int(m["int"].replace(",", ""))
    if m["min"]:  # clock time "3:30" -> "three thirty", "3:05" -> "three oh five"
        mins = int(m["min"])
        tail = "" if mins == 0 else (" oh " + _ONES[mins] if mins < 10 else " " + number_to_words(mins))
        return f" {number_to_words(n)}{tail} "
    # Amounts ("$1500", "1500%") and comma-grouped numbers are never read as years.
    amount = bool(m["cur"]) or m["suf"] == "%" or "," in m["int"]
    words = number_to_words(n, years=not amount)
    if m["frac"]:
        words += " point " + " ".join(_ONES[int(d)] for d in m["frac"])
    suffix = m["suf"] or ""
    if suffix in ("st", "nd", "rd", "th"):
        words = _ordinal(words)
    elif suffix == "%":
        words += " percent"
    if m["cur"]:
        words += " " + _CURRENCY[m["cur"]]
    return f" {words} "


def normalize_text(text: str) -> str:
    """Normalize a transcript for WER scoring.

    Steps, in order: Unicode NFKC and lower-case; digits spelled out as words
    ("10" -> "ten", "3rd" -> "third", "25%" -> "twenty five percent", "$5" -> "five dollars",
    "3:30" -> "three thirty", "2024" -> "twenty twenty four"); "&" -> "and"; hyphens,
    slashes and other punctuation become spaces, apostrophes are dropped ("don't" ->
    "dont") so both sides agree whatever the ASR does; a few spelling variants are
    unified ("okay" -> "ok"); whitespace collapsed. Number words in the reference are
    left alone, so writing references with words and letting this spell out the ASR's
    digits makes "10" and "ten" compare equal.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("’", "'").replace("&", " and ")
    text = _NUMBER_RE.sub(_spell_number, text)
    text = text.replace("'", "")
    text = re.sub(r"[^\w\s]|_", " ", text)
    words = [_EQUIVALENT_WORDS.get(w, w) for w in text.split()]
    return " ".join(" ".join(words).split())


# --------------------------------------------------------------------------- WER


@dataclass(frozen=True)
class WERDetails:
    wer: float
    substitutions: int
    deletions: int
    insertions: int
    reference_words: int


def _edit_counts(ref: list[str], hyp: list[str]) -> tuple[int, int, int]:
    """(substitutions, deletions, insertions) of a minimum-edit alignment (Levenshtein)."""
    # Each cell: (total, subs, dels, ins); ties prefer fewer total edits then substitutions.
    prev = [(j, 0, 0, j) for j in range(len(hyp) + 1)]
    for i, r in enumerate(ref, 1):
        cur = [(i, 0, i, 0)]
        for j, h in enumerate(hyp, 1):
            d = prev[j - 1]
            diag = d if r == h else (d[0] + 1, d[1] + 1, d[2], d[3])
            up = prev[j]
            dele = (up[0] + 1, up[1], up[2] + 1, up[3])
            left = cur[j - 1]
            ins = (left[0] + 1, left[1], left[2], left[3] + 1)
            cur.append(min(diag, dele, ins, key=lambda c: c[0]))
        prev = cur
    _, s, d, i = prev[-1]
    return s, d, i


def wer_details(reference: str | Sequence[str], hypothesis: str | Sequence[str],
                *, normalize: bool = True) -> WERDetails:
    """Word error counts. Lists of strings are scored as a corpus (errors summed over pairs)."""
    refs = [reference] if isinstance(reference, str) else list(reference)
    hyps = [hypothesis] if isinstance(hypothesis, str) else list(hypothesis)
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    s = d = i = n = 0
    for ref, hyp in zip(refs, hyps):
        rw = (normalize_text(ref) if normalize else ref).split()
        hw = (normalize_text(hyp) if normalize else hyp).split()
        cs, cd, ci = _counts(rw, hw)
        s, d, i, n = s + cs, d + cd, i + ci, n + len(rw)
    # Empty reference: defined as 0 when the hypothesis is empty too, else 1 (all wrong).
    rate = (s + d + i) / n if n else (0.0 if i == 0 else 1.0)
    return WERDetails(rate, s, d, i, n)


def _counts(rw: list[str], hw: list[str]) -> tuple[int, int, int]:
    if not rw or not hw:
        return 0, len(rw), len(hw)
    try:  # jiwer's C implementation is much faster on long transcripts
        import jiwer

        out = jiwer.process_words(" ".join(rw), " ".join(hw))
        return out.substitutions, out.deletions, out.insertions
    except ImportError:
        return _edit_counts(rw, hw)


def wer(reference: str | Sequence[str], hypothesis: str | Sequence[str],
        *, normalize: bool = True) -> float:
    """Word error rate (S+D+I)/N after normalize_text(); lists are scored as a corpus."""
    return wer_details(reference, hypothesis, normalize=normalize).wer


# --------------------------------------------------------------------------- DER


@dataclass(frozen=True)
class DERResult:
    """Diarization error rate and its parts, each a fraction of scored reference speech."""

    der: float
    missed: float
    false_alarm: float
    confusion: float
    scored_s: float = 0.0  # reference speech time scored (after removing collars)
    mapping: Mapping[Any, Any] = field(default_factory=dict)  # hypothesis -> reference speaker


def _segment(seg: Any) -> tuple[float, float, Any]:
    """Accept objects with .start/.end/.speaker, dicts with those keys, or (start, end, speaker)."""
    if isinstance(seg, Mapping):
        return float(seg["start"]), float(seg["end"]), seg["speaker"]
    if isinstance(seg, (tuple, list)):
        start, end, speaker = seg
        return float(start), float(end), speaker
    return float(seg.start), float(seg.end), seg.speaker


def _activity(segments: list[tuple[float, float, Any]], n_frames: int, frame: float):
    speakers = sorted({s for _, _, s in segments}, key=str)
    index = {s: k for k, s in enumerate(speakers)}
    act = np.zeros((len(speakers), n_frames), dtype=bool)
    for start, end, spk in segments:
        a, b = int(round(start / frame)), int(round(end / frame))
        act[index[spk], max(a, 0):max(b, 0)] = True
    return speakers, act


def _best_mapping(overlap: np.ndarray) -> list[tuple[int, int]]:
    """Pairs (ref, hyp) maximizing total overlap, one-to-one."""
    if overlap.size == 0:
        return []
    try:
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(overlap, maximize=True)
        return list(zip(rows.tolist(), cols.tolist()))
    except ImportError:  # brute force: fine for the handful of speakers in a meeting
        n_ref, n_hyp = overlap.shape
        best, best_pairs = -1.0, []
        if n_ref <= n_hyp:
            for perm in itertools.permutations(range(n_hyp), n_ref):
                score = sum(overlap[r, h] for r, h in enumerate(perm))
                if score > best:
                    best, best_pairs = score, list(enumerate(perm))
        else:
            for perm in itertools.permutations(range(n_ref), n_hyp):
                score = sum(overlap[r, h] for h, r in enumerate(perm))
                if score > best:
                    best, best_pairs = score, [(r, h) for h, r in enumerate(perm)]
        return best_pairs


def der(reference_turns: Iterable[Any], hypothesis_segments: Iterable[Any], *,
        collar: float = 0.25, frame: float = 0.01) -> DERResult:
    """Standard diarization error rate, computed on `frame`-second frames.

    Per frame with R reference and H hypothesis speakers and C of them matched under the
    best one-to-one speaker mapping (Hungarian on co-occurring frames): missed += max(0, R-H),
    false alarm += max(0, H-R), confusion += min(R, H) - C; all divided by the sum of R.
    Frames within `collar` seconds of any reference turn boundary are not scored (as
    NIST md-eval's collar), so tiny boundary offsets are not counted. Overlapping speech
    in either side is handled. Segments: objects/dicts with start, end, speaker, or tuples.
    """
    ref = [_segment(s) for s in reference_turns]
    hyp = [_segment(s) for s in hypothesis_segments]
    ref = [s for s in ref if s[1] > s[0]]
    hyp = [s for s in hyp if s[1] > s[0]]
    end = max([e for _, e, _ in ref + hyp], default=0.0)
    n_frames = int(math.ceil(end / frame)) + 1
    ref_spk, ref_act = _activity(ref, n_frames, frame)
    hyp_spk, hyp_act = _activity(hyp, n_frames, frame)

    scored = np.ones(n_frames, dtype=bool)
    if collar > 0:
        c = int(round(collar / frame))
        for start, stop, _ in ref:
            for t in (int(round(start / frame)), int(round(stop / frame))):
                scored[max(t - c, 0):t + c] = False
    ref_act, hyp_act = ref_act[:, scored], hyp_act[:, scored]

    n_ref = ref_act.sum(axis=0)
    n_hyp = hyp_act.sum(axis=0)
    total = float(n_ref.sum())
    overlap = ref_act.astype(np.int64) @ hyp_act.T.astype(np.int64)  # ref x hyp frame counts
    pairs = _best_mapping(overlap)
    correct = float(sum(overlap[r, h] for r, h in pairs))
    missed = float(np.maximum(n_ref - n_hyp, 0).sum())
    false_alarm = float(np.maximum(n_hyp - n_ref, 0).sum())
    confusion = float(np.minimum(n_ref, n_hyp).sum()) - correct
    mapping = {hyp_spk[h]: ref_spk[r] for r, h in pairs}
    if total == 0:  # nothing to score: any hypothesis speech is all error
        rate = 0.0 if false_alarm == 0 else 1.0
        return DERResult(rate, 0.0, rate, 0.0, 0.0, mapping)
    return DERResult(
        der=(missed + false_alarm + confusion) / total,
        missed=missed / total,
        false_alarm=false_alarm / total,
        confusion=confusion / total,
        scored_s=total * frame,
        mapping=mapping,
    )


# --------------------------------------------------------------------------- latency


def percentiles(values: Iterable[float], qs: Sequence[float] = (50, 95)) -> dict[str, float]:
    """{"p50": .., "p95": .., "mean": .., "max": .., "n": ..} (linear interpolation).
    Empty input gives NaN statistics and n=0, so reports still render."""
    arr = np.asarray([float(v) for v in values], dtype=float)
    out: dict[str, float] = {}
    for q in qs:
        key = f"p{q:g}"
        out[key] = float(np.percentile(arr, q)) if arr.size else math.nan
    out["mean"] = float(arr.mean()) if arr.size else math.nan
    out["max"] = float(arr.max()) if arr.size else math.nan
    out["n"] = int(arr.size)
    return out
