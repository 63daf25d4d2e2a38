"""How a room's conversation behaves: its timeouts and windows, and the notices it shows."""

from __future__ import annotations

from dataclasses import dataclass, field

from parley.settings import Settings

from .reply import ReplyOptions
from .turns import KNOWN_MISHEARINGS


@dataclass(frozen=True)
class ConversationOptions:
    aliases: tuple[str, ...] = ()  # other spellings the ASR gives the assistant's name
    # The server's end of turn normally comes within its max delay (2.5 s of silence); if none has
    # come this long after the speaker's words were final, the turn counts as over anyway.
    end_of_turn_timeout_s: float = 3.0
    final_timeout_s: float = 2.0  # speech ended and no final by then: it was noise (a paused reply resumes)
    follow_up_window_s: float = 20.0
    # Prefill each interim too. Off by default: on a 2-core CPU a prefill job holds the
    # inference server's only worker and delays the speaker's final (transcription_delay
    # p50 1.21 s with, 0.36 s without, in `parley bench voice`).
    prefill_interims: bool = False
    max_transcript_chars: int = 3000  # ~750 tokens: a cold prompt stays affordable on a CPU
    recall_timeout_s: float = 0.5
    reply: ReplyOptions = field(default_factory=ReplyOptions)

    @classmethod
    def from_settings(cls, settings: Settings) -> ConversationOptions:
        aliases = settings.assistant_aliases or KNOWN_MISHEARINGS.get(settings.assistant_name.lower(), ())
        return cls(aliases=tuple(aliases), reply=ReplyOptions(max_tokens=settings.reply_max_tokens,
                                      max_sentences=settings.reply_max_sentences))


NOTICE_TEXTS = {
    "llm": "{name} couldn't answer just now: the language model is unavailable. Try again in a moment.",
    "llm_partial": "{name}'s answer was cut short by an error.",
    "tts": "{name} couldn't speak its answer, so it is shown as text.",
    "empty": "{name} had no answer to that. Try asking another way.",
}
