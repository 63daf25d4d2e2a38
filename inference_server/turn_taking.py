"""When a speaker's turn is over: a short pause, the end-of-turn model, and the words.

A caption final and the end of a turn are different things. Finals commit words at every
pause the VAD sees; a turn ends when the speaker is done and someone else may talk. Per
stream, on the stream's own audio clock (seconds of audio received, so tests can drive it):

- after `silence_s` of silence the turn is judged once: the words of the utterance so far
  (decoded speculatively during the pause) and the turn model's probability;
- words that trail off ("... and", "the", "um") say "not done" whatever the audio says, a
  question says "done"; otherwise the model decides against `threshold`;
- "done" ends the turn at once; "not done" waits until `max_delay_s` of silence;
- with no model (missing, failing) a turn ends after `fallback_delay_s` of silence;
- speech that resumes before the end cancels the judgement: the same turn goes on.

`TurnTracker` is pure bookkeeping (no model, no asyncio): the stream feeds it what it sees
and acts on what it returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

TurnReason = Literal["model", "question", "max_delay", "silence", "flush"]

# Whisper's spelling of hesitations, and words a finished English sentence rarely ends with.
FILLERS = frozenset({"um", "umm", "uh", "uhh", "hmm", "hm", "mm", "mmm", "er", "erm", "ah", "eh"})
TRAILING = frozenset({"and", "but", "or", "so", "because", "the", "a", "an", "to", "of", "that", "with", "if",
                      "my", "your", "our", "their", "his", "her", "is", "are", "was", "were", "i", "we", "in",
                      "on", "at", "for", "from", "about", "than", "then", "like"})
_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
_NON_SPEECH = re.compile(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*")


def word_cue(text: str) -> Literal["unfinished", "question"] | None:
    """What the words alone say about the end of a turn; None when they say nothing."""
    stripped = _NON_SPEECH.sub(" ", text).strip()
    if stripped.endswith(("...", "…", ",", "-", "—", ":")):
        return "unfinished"
    words = _WORD.findall(stripped.lower())
    if words and (words[-1] in TRAILING or words[-1] in FILLERS):
        return "unfinished"
    if stripped.endswith("?") and len(words) >= 2:
        return "question"
    return None


@dataclass(frozen=True)
class TurnOptions:
    silence_s: float = 0.2  # pause before the turn is judged
    max_delay_s: float = 2.5  # a turn judged unfinished ends after this much silence anyway
    fallback_delay_s: float = 0.9  # without a turn model: the old VAD 0.4 s + 0.5 s delay
    threshold: float = 0.5  # P(complete) from the model at which a turn ends


@dataclass(frozen=True)
class Verdict:
    """The judgement of one pause: `complete` None means no model answered."""

    complete: bool | None
    reason: TurnReason | Literal["words", "model"]
    probability: float | None


def judge(text: str, probability: float | None, threshold: float) -> Verdict:
    cue = word_cue(text)
    if cue == "unfinished":
        return Verdict(False, "words", probability)
    if cue == "question":
        return Verdict(True, "question", probability)
    if probability is None:
        return Verdict(None, "silence", None)
    return Verdict(probability >= threshold, "model", probability)


@dataclass(frozen=True)
class Judge:
    """Ask for a verdict on the pause that began at `pause_start` (stream seconds)."""

    pause: int  # the pause's number: a verdict for an older pause is ignored
    pause_start: float


@dataclass(frozen=True)
class TurnEnded:
    at: float  # stream seconds when the end was decided
    speech_end: float  # where the turn's last speech ended
    reason: TurnReason
    probability: float | None


Action = Judge | TurnEnded


class TurnTracker:
    def __init__(self, options: TurnOptions = TurnOptions()) -> None:
        self.options = options
        self.open = False  # a turn began and has not ended
        self._pause = 0
        self._pause_start: float | None = None  # silence under way in an open turn
        self._asked = False
        self._verdict: Verdict | None = None
        self._probability: float | None = None  # the model's answer on this pause, before the words came

    def speech(self, now: float) -> None:
        """Someone is speaking (the VAD's speech, not yet a settled pause)."""
        self.open = True
        if self._pause_start is not None:
            self._pause += 1  # the pause was mid-turn: any verdict on it is moot
        self._pause_start, self._asked, self._verdict, self._probability = None, False, None, None

    def silence(self, now: float, since: float) -> list[Action]:
        """Silence since `since` up to `now`; returns what to do."""
        if not self.open:
            return []
        if self._pause_start is None:
            self._pause_start = since
        quiet = now - self._pause_start + 1e-6  # times are sums of chunk lengths: float noise
        if not self._asked and quiet >= self.options.silence_s:
            self._asked = True
            return [Judge(self._pause, self._pause_start)]
        verdict = self._verdict
        limit = self.options.max_delay_s
        reason: TurnReason = "max_delay"
        if verdict is not None and verdict.complete is None:
            limit, reason = min(self.options.fallback_delay_s, limit), "silence"
        if quiet >= limit and (verdict is None or verdict.complete is not True):
            # no verdict yet this late (slow words, a stuck model) counts as none: never hang
            probability = verdict.probability if verdict else self._probability
            return [self._end(now, reason if verdict is not None else "silence", probability)]
        return []

    def probability(self, pause: int, probability: float | None) -> None:
        """The model answered on `pause` before the words were decoded: kept for a timeout's report."""
        if pause == self._pause:
            self._probability = probability

    def verdict(self, pause: int, verdict: Verdict, now: float) -> list[Action]:
        if not self.open or pause != self._pause or self._pause_start is None:
            return []
        self._verdict = verdict
        if verdict.complete:
            return [self._end(now, verdict.reason, verdict.probability)]  # type: ignore[arg-type]
        return self.silence(now, self._pause_start)

    def flush(self, now: float) -> list[Action]:
        """The client asked to finalize (push-to-talk released, stream ends): the turn is over."""
        if not self.open:
            return []
        return [self._end(now, "flush", self._verdict.probability if self._verdict else None)]

    def _end(self, now: float, reason: TurnReason, probability: float | None) -> TurnEnded:
        speech_end = self._pause_start if self._pause_start is not None else now
        self.open = False
        self._pause += 1
        self._pause_start, self._asked, self._verdict, self._probability = None, False, None, None
        return TurnEnded(at=now, speech_end=speech_end, reason=reason, probability=probability)
