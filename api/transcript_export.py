"""A session's transcript as JSON, SRT, VTT or Markdown. Segment times are seconds from the
start of the session."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

from parley.store.records import Participant, Segment, Session

ExportFormat = Literal["json", "srt", "vtt", "md"]
MEDIA_TYPES = {"json": "application/json", "srt": "application/x-subrip", "vtt": "text/vtt",
               "md": "text/markdown"}


def _clock(seconds: float, separator: str) -> str:
    millis = round(max(seconds, 0.0) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _one_line(text: str) -> str:
    """Cue text cannot hold blank lines (they end a cue in SRT and VTT)."""
    return " ".join(text.split())


def to_json(session: Session, participants: Sequence[Participant], segments: Sequence[Segment]) -> str:
    return json.dumps({"session": session.model_dump(mode="json"),
                       "participants": [p.model_dump(mode="json") for p in participants],
                       "segments": [s.model_dump(mode="json") for s in segments]}, indent=2, ensure_ascii=False)


def to_srt(segments: Sequence[Segment]) -> str:
    cues = [f"{i}\n{_clock(s.start, ',')} --> {_clock(s.end, ',')}\n{_one_line(s.speaker)}: {_one_line(s.text)}\n"
            for i, s in enumerate(segments, 1)]
    return "\n".join(cues)


def _vtt_escape(text: str) -> str:
    return _one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(segments: Sequence[Segment]) -> str:
    cues = [f"{s.seq}\n{_clock(s.start, '.')} --> {_clock(s.end, '.')}\n<v {_vtt_escape(s.speaker)}>"
            f"{_vtt_escape(s.text)}\n" for s in segments]
    return "WEBVTT\n\n" + "\n".join(cues)


def to_markdown(session: Session, participants: Sequence[Participant], segments: Sequence[Segment]) -> str:
    title = session.title or f"{session.room_name} — {session.started_at:%Y-%m-%d %H:%M} UTC"
    ended = f", ended {session.ended_at:%H:%M} UTC" if session.ended_at else ""
    lines = [f"# {_one_line(title)}", "",
             f"Room **{session.room_name}**, started {session.started_at:%Y-%m-%d %H:%M} UTC{ended}."]
    if participants:
        lines.append("Participants: " + ", ".join(_one_line(p.display_name) for p in participants) + ".")
    if session.summary:
        lines += ["", "## Summary", "", session.summary.strip()]
    lines += ["", "## Transcript", ""]
    for s in segments:
        emotion = f" _({s.emotion})_" if s.emotion else ""
        lines.append(f"- `{_clock(s.start, '.')[:8]}` **{_one_line(s.speaker)}**{emotion}: {_one_line(s.text)}")
    return "\n".join(lines) + "\n"


def export(fmt: ExportFormat, session: Session, participants: Sequence[Participant],
           segments: Sequence[Segment]) -> str:
    if fmt == "json":
        return to_json(session, participants, segments)
    if fmt == "srt":
        return to_srt(segments)
    if fmt == "vtt":
        return to_vtt(segments)
    return to_markdown(session, participants, segments)
