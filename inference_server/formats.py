"""Transcript renderings: text, SRT, WebVTT (the latter two written by parley.subtitles)."""

from __future__ import annotations

from parley import subtitles

from .protocol import Segment, Transcript


def _cues(transcript: Transcript) -> list[subtitles.Cue]:
    return [subtitles.Cue(s.start, s.end, s.speaker, s.text) for s in _worded(transcript)]


def _worded(transcript: Transcript) -> list[Segment]:
    """Segments with words: an overlapped second voice may have none (JSON keeps it, captions don't)."""
    return [s for s in transcript.segments if s.text]


def to_text(transcript: Transcript) -> str:
    return "\n".join(f"[{s.speaker}] {s.text}" for s in _worded(transcript)) + "\n"


def to_srt(transcript: Transcript) -> str:
    return subtitles.to_srt(_cues(transcript))


def to_vtt(transcript: Transcript) -> str:
    return subtitles.to_vtt(_cues(transcript))
