"""Transcript renderings: text, SRT, WebVTT (the latter two written by parley.subtitles)."""

from __future__ import annotations

from parley import subtitles

from .protocol import Transcript


def _cues(transcript: Transcript) -> list[subtitles.Cue]:
    return [subtitles.Cue(s.start, s.end, s.speaker, s.text) for s in transcript.segments]


def to_text(transcript: Transcript) -> str:
    return "\n".join(f"[{s.speaker}] {s.text}" for s in transcript.segments) + "\n"


def to_srt(transcript: Transcript) -> str:
    return subtitles.to_srt(_cues(transcript))


def to_vtt(transcript: Transcript) -> str:
    return subtitles.to_vtt(_cues(transcript))
