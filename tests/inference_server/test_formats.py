"""Transcript renderings: a second voice heard under another's speech has no words of its own; JSON
keeps it (who spoke when), text and subtitles show only segments with words."""

from __future__ import annotations

from inference_server.formats import to_srt, to_text, to_vtt
from inference_server.protocol import Segment, Transcript

TRANSCRIPT = Transcript(duration=6.0, text="Hello there. Yes.", segments=[
    Segment(start=0.0, end=3.0, speaker="S1", text="Hello there.", emotion="neutral", emotion_score=0.5),
    Segment(start=2.5, end=3.0, speaker="S2", text="", emotion="neutral", emotion_score=0.0),
    Segment(start=3.0, end=6.0, speaker="S2", text="Yes.", emotion="joy", emotion_score=0.7),
])


def test_text_shows_the_segments_with_words():
    assert to_text(TRANSCRIPT) == "[S1] Hello there.\n[S2] Yes.\n"


def test_subtitles_number_only_the_cues_with_words():
    srt = to_srt(TRANSCRIPT)
    assert srt.count("-->") == 2 and "\n3\n" not in srt and "Yes." in srt
    assert to_vtt(TRANSCRIPT).count("-->") == 2
