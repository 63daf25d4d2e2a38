"""A session's transcript as JSON, SRT, VTT or Markdown. Segment times are seconds from the
start of the session."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

from parley.store.records import Participant, Segment, Session
from parley.subtitles import Cue, clock, one_line, to_srt, to_vtt

ExportFormat = Literal["json", "srt", "vtt", "md"]
MEDIA_TYPES = {"json": "application/json", "srt": "application/x-subrip", "vtt": "text/vtt",
               "md": "text/markdown"}


def to_json(session: Session, participants: Sequence[Participant], segments: Sequence[Segment]) -> str:
    return json.dumps({"session": session.model_dump(mode="json"),
                       "participants": [p.model_dump(mode="json") for p in participants],
                       "segments": [s.model_dump(mode="json") for s in segments]}, indent=2, ensure_ascii=False)


def _cues(segments: Sequence[Segment]) -> list[Cue]:
    return [Cue(s.start, s.end, s.speaker, s.text, id=str(s.seq)) for s in segments]


def to_markdown(session: Session, participants: Sequence[Participant], segments: Sequence[Segment]) -> str:
    title = session.title or f"{session.room_name} — {session.started_at:%Y-%m-%d %H:%M} UTC"
    ended = f", ended {session.ended_at:%H:%M} UTC" if session.ended_at else ""
    lines = [f"# {one_line(title)}", "",
             f"Room **{session.room_name}**, started {session.started_at:%Y-%m-%d %H:%M} UTC{ended}."]
    if participants:
        lines.append("Participants: " + ", ".join(one_line(p.display_name) for p in participants) + ".")
    if session.summary:
        lines += ["", "## Summary", "", session.summary.strip()]
    lines += ["", "## Transcript", ""]
    for s in segments:
        emotion = f" _({s.emotion})_" if s.emotion else ""
        lines.append(f"- `{clock(s.start, '.')[:8]}` **{one_line(s.speaker)}**{emotion}: {one_line(s.text)}")
    return "\n".join(lines) + "\n"


def export(fmt: ExportFormat, session: Session, participants: Sequence[Participant],
           segments: Sequence[Segment]) -> str:
    if fmt == "json":
        return to_json(session, participants, segments)
    if fmt == "srt":
        return to_srt(_cues(segments))
    if fmt == "vtt":
        return to_vtt(_cues(segments))
    return to_markdown(session, participants, segments)
