"""When a live caption becomes final: at a sentence's end, not only at the end of a turn.

A turn ends at a long pause (the VAD's `min_silence_ms`), and people talk for many sentences
without one. So a caption is also committed mid-speech:
- at a short pause (`sentence_pause_ms`) where the decoded words form a complete sentence
  (ends in . ? ! and not on a word that needs a continuation, such as "of" or "the");
- at any short pause once the caption is longer than `soft_caption_s`;
- at `max_caption_s` without any pause, at the quietest point of the last `search_s`
  (between words, as far as the VAD can tell).
The end of a turn stays the VAD's long pause (`speech_ended`): turn-taking never keys on finals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SENTENCE_END = re.compile(r"[.?!][\"')\]]*$")
# A sentence does not end on these, whatever punctuation the recognizer put after them.
# Not "you", "though" or "not": "How are you?", "I'm in New Jersey now, though." and "I hope not." end
# sentences often (on the real call, "though" kept a sentence's final waiting 0.5 s for a speaker change).
_NEEDS_MORE = frozenset("""
a an the and or but nor of to in on at for with from by as into onto about than then that which who whom
whose where when while if so because although since until unless is are was were be been am
my your his her their our its i we he she they it's i'm very mr mrs ms dr st
""".split())


def has_words(text: str) -> bool:
    """Whether a decode says anything: Whisper sometimes returns only punctuation ("." on a cut)."""
    return any(character.isalnum() for character in text)


def is_complete_sentence(text: str) -> bool:
    text = text.strip()
    if not _SENTENCE_END.search(text):
        return False
    last = re.sub(r"[^\w']", "", text.split()[-1].lower()) if text.split() else ""
    return bool(last) and last not in _NEEDS_MORE


@dataclass(frozen=True)
class CaptionPolicy:
    sentence_pause_ms: int = 150
    min_caption_s: float = 1.0  # a shorter sentence waits for the next one (or the turn's end)
    soft_caption_s: float = 4.0
    max_caption_s: float = 7.5
    search_s: float = 2.5

    def commit_at_pause(self, text: str, seconds: float) -> bool:
        """Whether the caption decoded up to a short pause is final (speech goes on after it)."""
        if not text.strip() or seconds < self.min_caption_s:
            return False
        return seconds >= self.soft_caption_s or is_complete_sentence(text)
