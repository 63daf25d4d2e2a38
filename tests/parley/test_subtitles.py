"""One SRT/VTT writer for file transcripts and session exports: cue text stays one line and
VTT escapes markup, whichever path rendered it."""

from __future__ import annotations

from inference_server.formats import to_srt, to_vtt
from inference_server.protocol import Segment, Transcript


def _transcript(text: str) -> Transcript:
    return Transcript(duration=4.0, text=text, segments=[
        Segment(start=0.5, end=3725.25, speaker="S1", text=text, emotion="neutral", emotion_score=0.5)])


def test_file_transcripts_escape_markup_in_vtt_as_session_exports_do():
    vtt = to_vtt(_transcript("a <b>bold</b> move &\n\nmore"))
    assert vtt == "WEBVTT\n\n00:00:00.500 --> 01:02:05.250\n<v S1>a &lt;b&gt;bold&lt;/b&gt; move &amp; more\n"


def test_srt_cues_are_numbered_and_one_line_with_the_speaker():
    srt = to_srt(_transcript("first line\n\nsecond"))
    assert srt == "1\n00:00:00,500 --> 01:02:05,250\nS1: first line second\n"
