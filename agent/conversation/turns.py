"""Turn-taking rules: what counts as words, and which finished turns are meant for the assistant.

The reply rule (also in the README):
- One human in the room: every finished turn is for the assistant.
- Several humans: a turn is for the assistant when it says the assistant's name (or one of
  its aliases), or when it is a question (ends with "?") asked right after the assistant
  spoke — nobody else talked in between, within `follow_up_window_s`.
When a turn is finished is the inference server's decision (inference_server/turn_taking.py:
a short pause, its end-of-turn model and the words); the agent hears it as `UserTurnEnded`.
Hesitations ("um", "mm-hmm") and non-speech ("[cough]") are not turns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .context import ConversationContext, HumanLine

# How Whisper tiny.en wrote the default name in our recordings ("partly" and "party" too, but
# those are everyday words): addressing the assistant counts with any of these.
KNOWN_MISHEARINGS = {"parley": ("harley", "parlay", "parly", "farley")}

# Sounds that are not words to answer: hesitations and backchannels as Whisper writes them.
FILLERS = frozenset({"um", "umm", "uh", "uhh", "uh-huh", "hmm", "hm", "mm", "mmm", "mhm", "mm-hmm", "er", "erm",
                     "ah", "oh", "eh", "huh"})
_NON_SPEECH = re.compile(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*")  # "[cough]", "(laughs)", "*sigh*"
_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")


def words(text: str) -> list[str]:
    return _WORD.findall(_NON_SPEECH.sub(" ", text.lower()))


def is_filler(text: str) -> bool:
    """Nothing but hesitations, non-speech tags or punctuation: not a turn."""
    return all(word in FILLERS for word in words(text))


class ReplyRule:
    def __init__(self, names: Sequence[str], *, follow_up_window_s: float = 20.0) -> None:
        alternatives = "|".join(re.escape(n.lower()) for n in names if n.strip())
        self._name = re.compile(rf"\b(?:{alternatives})\b")
        self.follow_up_window_s = follow_up_window_s

    def addressed(self, text: str) -> bool:
        return bool(self._name.search(" ".join(words(text))))

    def wants_reply(self, humans_in_room: int, context: ConversationContext,
                    pending: HumanLine | None = None) -> bool:
        """`pending`: words not yet final (a preflight) that count as the latest line."""
        unanswered = context.unanswered() + ([pending] if pending else [])
        if not unanswered:
            return False
        if humans_in_room <= 1:
            return True
        return any(self.addressed(line.text) for line in unanswered) or self._follow_up(unanswered[0], context)

    def _follow_up(self, first: HumanLine, context: ConversationContext) -> bool:
        """The first line after the assistant spoke is a question, and came soon after."""
        last = context.last_assistant()
        if last is None or not last.text or not first.text.rstrip().endswith("?"):
            return False
        return first.at - (last.ended_at or last.at) <= self.follow_up_window_s
