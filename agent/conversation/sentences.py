"""Streamed LLM text -> sentences for TTS, and text cleaned for a voice.

The first words are what the room waits for, so the first chunk is the first clause: it ends
at a comma, semicolon, colon or dash, or after `first_chunk_words` words, or with the
sentence, whichever comes first. The rest goes out sentence by sentence (a voice reads a
whole sentence better, and by then the audio is ahead of the room). Four words, not eight:
the LLM makes ~10 tokens a second on 2 cores, so each word waited for is ~0.1 s of silence
(`parley bench voice`: e2e p50 2.20 -> 1.78 s), while the voice's four words last longer than
the rest of the sentence takes to come; the join costs ~0.1 s of pause, no intelligibility
(bench/tts_voices.py --first-chunk-words).
"""

from __future__ import annotations

import re

_ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "prof", "st", "vs", "etc", "e.g", "i.e", "approx", "no"})
_END = re.compile(r"[.!?…]+[\"')\]]*(?=\s|$)|\n+")
_CLAUSE = re.compile(r"[,;:](?=\s)|\s[-–—](?=\s)|—")
_MARKUP = re.compile(r"\*\*|__|`+|^#+\s*|^\s*(?:[-*•]|\d+[.)])\s+", re.MULTILINE)
_URL = re.compile(r"https?://\S+")
_SYMBOLS = re.compile(r"[\U0001F000-\U0001FFFF\u2600-\u27BF]")  # emoji and pictographs


def speakable(text: str) -> str:
    """What a voice should say: no markdown, links or emoji; single spaces."""
    text = _SYMBOLS.sub("", _URL.sub("", _MARKUP.sub("", text)))
    return " ".join(text.split())


# A transcript line's label (prompts.transcript_line): "Ann:", "Ann (2) [anger]:".
_LABEL = re.compile(r"^([A-Z][\w'.-]*(?: [A-Z][\w'.-]*)?)( \(\d+\))?( \[[a-z]+\])?:\s*", re.IGNORECASE)


def without_label(text: str, own_name: str) -> str:
    """A reply's first words without a transcript label the model imitated: its own name, or any label
    in the transcript's own marks (a "(2)" or an "[emotion]"), which no plain sentence starts with."""
    match = _LABEL.match(text)
    if match and (match.group(2) or match.group(3) or match.group(1).lower() == own_name.lower()):
        return text[match.end():]
    return text


class SentenceSplitter:
    def __init__(self, *, first_clause_words: int = 2, first_chunk_words: int = 4) -> None:
        self._buffer = ""
        self._first = True
        self._first_clause_words = first_clause_words  # fewer words before a comma stay with the next clause
        self.first_chunk_words = first_chunk_words

    def push(self, text: str) -> list[str]:
        """Sentences completed by `text`: a terminator ends one without waiting for the next token,
        unless it could still be part of a number or an abbreviation."""
        self._buffer += text
        out: list[str] = []
        while (end := self._next_end()) is not None:
            sentence, self._buffer = self._buffer[:end], self._buffer[end:]
            if sentence := sentence.strip():
                out.append(sentence)
                self._first = False
        return out

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer.strip(), ""
        return [rest] if rest else []

    def _next_end(self) -> int | None:
        ends = [end for end in (self._sentence_end(), self._first_clause_end() if self._first else None)
                if end is not None]
        return min(ends) if ends else None

    def _sentence_end(self) -> int | None:
        for match in _END.finditer(self._buffer):
            before = self._buffer[:match.start()].rsplit(None, 1)
            word = before[-1] if before else ""
            initial = len(word) == 1 and word.isupper() and word != "I"
            if match.group().startswith(".") and (word.lower() in _ABBREVIATIONS or initial):
                continue  # "Dr. Smith", "J. R. R. Tolkien"
            if match.end() == len(self._buffer) and match.group().startswith(".") and not word[-1:].isalpha():
                continue  # "3." may go on as "3.5": wait for the next token
            return match.end()
        return None

    def _first_clause_end(self) -> int | None:
        for match in _CLAUSE.finditer(self._buffer):
            if len(self._buffer[:match.start()].split()) >= self._first_clause_words:
                return match.end()
        # No clause mark yet: cut after the Nth word once the next one has begun (the Nth is whole).
        spans = list(re.finditer(r"\S+", self._buffer))
        if len(spans) > self.first_chunk_words:
            return spans[self.first_chunk_words - 1].end()
        return None
