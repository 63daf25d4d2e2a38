"""The room's one shared conversation: who said what, in order, as the assistant will read it.

Lines are only ever appended (the assistant's line gets its final text when its reply ends),
so the prompt rendered from them grows at the end and the LLM's KV cache keeps its prefix.
When the transcript outgrows its budget the oldest half is dropped at once: the prefix
changes rarely (one cold prompt) instead of on every line.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class HumanLine:
    participant_id: str
    speaker: str
    text: str
    at: float
    emotion: str = "neutral"
    emotion_score: float = 0.0
    speech_end_at: float | None = None  # when its words ended (its final arrived at `at`)


@dataclass
class AssistantLine:
    at: float  # when its audio started
    text: str = ""  # what was actually spoken (shown, when speech failed)
    interrupted: bool = False
    ended_at: float | None = None


Line = HumanLine | AssistantLine


@dataclass
class ConversationContext:
    max_chars: int = 6000  # ~1500 tokens of transcript
    lines: list[Line] = field(default_factory=list)
    _start: int = 0  # first line still in the window

    def add(self, line: Line) -> Line:
        self.lines.append(line)
        if sum(len(getattr(x, "text", "")) + 16 for x in self.window) > self.max_chars:
            self._start += max(1, (len(self.lines) - self._start) // 2)
        return line

    @property
    def window(self) -> list[Line]:
        """The recent lines the prompt shows."""
        return self.lines[self._start:]

    def last_assistant(self) -> AssistantLine | None:
        return next((x for x in reversed(self.lines) if isinstance(x, AssistantLine)), None)

    def unanswered(self) -> list[HumanLine]:
        """Human lines since the assistant last spoke."""
        out: list[HumanLine] = []
        for line in reversed(self.lines):
            if isinstance(line, AssistantLine) and line.text:
                break
            if isinstance(line, HumanLine):
                out.append(line)
        return out[::-1]
