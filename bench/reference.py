"""Reference transcripts (RTTM, STM) and scoring a hypothesis against them.

RTTM (NIST) gives who spoke when: `SPEAKER <file> <chan> <start> <dur> <NA> <NA> <spk> <NA> <NA>`.
STM gives who said what when: `<file> <chan> <spk> <start> <end> [<label>] <words...>`
(`;;` lines are comments). Either is a `Reference`; an STM also carries the words for WER.
A hypothesis is any sequence of segments with start, end, speaker and text (caption finals,
`parley transcribe` segments), scored as:
- DER with no collar (every boundary error counts), optimal one-to-one speaker mapping;
- WER of the words in time order against the reference words in time order;
- the number of segments and the longest one (a final must not swallow a conversation).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.metrics import der, wer_details


@dataclass(frozen=True)
class RefTurn:
    start: float
    end: float
    speaker: str
    text: str = ""


@dataclass(frozen=True)
class Reference:
    turns: tuple[RefTurn, ...]
    has_text: bool  # STM: words known; RTTM: only speakers and times

    @property
    def text(self) -> str:
        return " ".join(t.text for t in sorted(self.turns, key=lambda t: t.start) if t.text)

    @property
    def speakers(self) -> list[str]:
        return list(dict.fromkeys(t.speaker for t in self.turns))


class ReferenceError(ValueError):
    """A reference file that cannot be read; the message names the file and line."""


def read_rttm(path: str | Path) -> Reference:
    turns = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith(";") or fields[0] != "SPEAKER":
            continue
        try:
            start, duration = float(fields[3]), float(fields[4])
            turns.append(RefTurn(start, start + duration, fields[7]))
        except (IndexError, ValueError):
            raise ReferenceError(f"{path}:{number}: not an RTTM SPEAKER line: {line.strip()!r}") from None
    if not turns:
        raise ReferenceError(f"{path}: no SPEAKER lines")
    return Reference(tuple(turns), has_text=False)


def read_stm(path: str | Path) -> Reference:
    turns = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip() or line.startswith(";;"):
            continue
        fields = line.split()
        try:
            speaker, start, end = fields[2], float(fields[3]), float(fields[4])
        except (IndexError, ValueError):
            raise ReferenceError(f"{path}:{number}: not an STM line: {line.strip()!r}") from None
        words = fields[5:]
        if words and words[0].startswith("<") and words[0].endswith(">"):
            words = words[1:]  # the optional <label> column
        turns.append(RefTurn(start, end, speaker, " ".join(words)))
    if not turns:
        raise ReferenceError(f"{path}: no segments")
    return Reference(tuple(turns), has_text=True)


def read_reference(path: str | Path) -> Reference:
    suffix = Path(path).suffix.lower()
    if suffix == ".rttm":
        return read_rttm(path)
    if suffix == ".stm":
        return read_stm(path)
    raise ReferenceError(f"{path}: a reference must be a .rttm or .stm file")


def write_rttm(path: str | Path, file_id: str, turns: Iterable[RefTurn]) -> None:
    lines = [f"SPEAKER {file_id} 1 {t.start:.3f} {t.end - t.start:.3f} <NA> <NA> {t.speaker} <NA> <NA>"
             for t in sorted(turns, key=lambda t: t.start)]
    Path(path).write_text("\n".join(lines) + "\n")


def write_stm(path: str | Path, file_id: str, turns: Iterable[RefTurn]) -> None:
    lines = [f"{file_id} 1 {t.speaker} {t.start:.3f} {t.end:.3f} {t.text}"
             for t in sorted(turns, key=lambda t: t.start)]
    Path(path).write_text("\n".join(lines) + "\n")


def _field(segment: Any, name: str) -> Any:
    return segment[name] if isinstance(segment, Mapping) else getattr(segment, name)


def score(reference: Reference, segments: Sequence[Any]) -> dict:
    """DER (no collar), WER (STM only), number of segments and the longest, in seconds."""
    hyp = sorted(((float(_field(s, "start")), float(_field(s, "end")), str(_field(s, "speaker")),
                   str(_field(s, "text"))) for s in segments), key=lambda s: s[0])
    diarization = der([(t.start, t.end, t.speaker) for t in reference.turns],
                      [(start, end, speaker) for start, end, speaker, _ in hyp], collar=0.0)
    result: dict = {
        "der": round(diarization.der, 4),
        "der_parts": {"missed": round(diarization.missed, 4), "false_alarm": round(diarization.false_alarm, 4),
                      "confusion": round(diarization.confusion, 4)},
        "finals": len(hyp),
        "longest_final_s": round(max((end - start for start, end, _, _ in hyp), default=0.0), 2),
        "speakers": {"reference": len(reference.speakers), "hypothesis": len({s for _, _, s, _ in hyp})},
    }
    if reference.has_text:
        words = wer_details(reference.text, " ".join(text for *_, text in hyp))
        result["wer"] = round(words.wer, 4)
        result["reference_words"] = words.reference_words
    return result


def describe(result: Mapping) -> str:
    """One line for people: the scores that exist in `result`."""
    parts = [f"DER {result['der']:.1%} (missed {result['der_parts']['missed']:.1%}, false alarm "
             f"{result['der_parts']['false_alarm']:.1%}, confusion {result['der_parts']['confusion']:.1%})"]
    if "wer" in result:
        parts.append(f"WER {result['wer']:.1%}")
    parts.append(f"finals {result['finals']}, longest {result['longest_final_s']:.1f} s")
    parts.append(f"speakers {result['speakers']['hypothesis']} (reference {result['speakers']['reference']})")
    latency = result.get("final_latency_s")
    if latency and latency.get("p50") is not None:
        parts.append(f"final latency p50 {latency['p50']:.2f} s, p95 {latency['p95']:.2f} s")
    return "; ".join(parts)
