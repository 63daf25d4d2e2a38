"""Transcript renderings: text, SRT, WebVTT."""

from __future__ import annotations

from .protocol import Transcript


def _clock(seconds: float, sep: str) -> str:
    millis = int(round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{millis:03d}"


def to_text(transcript: Transcript) -> str:
    return "\n".join(f"[{s.speaker}] {s.text}" for s in transcript.segments) + "\n"


def to_srt(transcript: Transcript) -> str:
    blocks = [f"{i}\n{_clock(s.start, ',')} --> {_clock(s.end, ',')}\n[{s.speaker}] {s.text}\n"
              for i, s in enumerate(transcript.segments, 1)]
    return "\n".join(blocks)


def to_vtt(transcript: Transcript) -> str:
    blocks = [f"{_clock(s.start, '.')} --> {_clock(s.end, '.')}\n<v {s.speaker}>{s.text}\n"
              for s in transcript.segments]
    return "WEBVTT\n\n" + "\n".join(blocks)
