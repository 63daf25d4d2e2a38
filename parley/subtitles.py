"""SRT and WebVTT, written once for every transcript Parley renders (file transcription on the
inference server and the CLI, session exports in the API). A cue is one speaker's words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Cue:
    start: float  # seconds
    end: float
    speaker: str
    text: str
    id: str | None = None  # VTT cue identifier


def clock(seconds: float, separator: str) -> str:
    """HH:MM:SS<separator>mmm ("," in SRT, "." in VTT); negative times clamp to zero."""
    millis = round(max(seconds, 0.0) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def one_line(text: str) -> str:
    """Cue text cannot hold blank lines (they end a cue in SRT and VTT)."""
    return " ".join(text.split())


def _vtt_escape(text: str) -> str:
    return one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_srt(cues: Sequence[Cue]) -> str:
    return "\n".join(f"{i}\n{clock(c.start, ',')} --> {clock(c.end, ',')}\n{one_line(c.speaker)}: {one_line(c.text)}\n"
                     for i, c in enumerate(cues, 1))


def to_vtt(cues: Sequence[Cue]) -> str:
    return "WEBVTT\n\n" + "\n".join(
        (f"{c.id}\n" if c.id else "") + f"{clock(c.start, '.')} --> {clock(c.end, '.')}\n"
        f"<v {_vtt_escape(c.speaker)}>{_vtt_escape(c.text)}\n" for c in cues)
