"""How far a caption is from the words spoken, for tests that check the words came through.

Counted in letters, spaces ignored: a recognizer that writes "every one" for "everyone" heard
the words (one machine's int8 kernels gave that split, another's did not), while a misheard
word still costs its letters.
"""

from __future__ import annotations

import jiwer

from bench.metrics import normalize_text


def letter_error_rate(spoken: str, caption: str) -> float:
    return jiwer.cer(normalize_text(spoken).replace(" ", ""), normalize_text(caption).replace(" ", ""))
