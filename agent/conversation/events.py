"""What the conversation engine hears: each participant's speech and transcripts, whatever the transport.

Speech start and stop are as the inference server's VAD sees them. Times are seconds on
the conversation's clock, `now()`: the running event loop's (`time.monotonic()` on a real
loop; virtual under a test's virtual-time loop, so timers, timeouts and audio pacing follow
it). What the engine says goes out as room events (agent/events.py): the assistant's captions,
state, notices and per-turn metrics.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


def now() -> float:
    """The conversation's clock: what every event time, timer and audio frame is measured on."""
    return asyncio.get_running_loop().time()


@dataclass(frozen=True)
class UserStartedSpeaking:
    participant_id: str
    at: float


@dataclass(frozen=True)
class UserStoppedSpeaking:
    participant_id: str
    at: float  # when the VAD's silence ran out (the event arrived)
    speech_end_at: float  # when the participant's last words were spoken: the turn's latency clock starts here


@dataclass(frozen=True)
class UserTranscript:
    participant_id: str
    speaker: str  # caption label: "Ann", or "Ann (2)" for a second voice on her microphone
    text: str
    is_final: bool
    at: float
    emotion: str = "neutral"
    emotion_score: float = 0.0


@dataclass(frozen=True)
class UserPreflight:
    """The words of a pause under way, decoded before the VAD's silence ran out: a reply may start on
    them, but is heard only once the turn ends, and only if they are still the latest words."""

    participant_id: str
    speaker: str
    text: str
    at: float
    end: float  # where these words end on the participant's stream clock (seconds)


@dataclass(frozen=True)
class UserTurnEnded:
    """The inference server judged the participant done: the assistant may speak."""

    participant_id: str
    at: float
    end: float  # where the turn's speech ended on the participant's stream clock (seconds)
    probability: float | None = None  # the turn model's P(complete), None without one
    reason: str = "model"


UserInput = UserStartedSpeaking | UserStoppedSpeaking | UserTranscript | UserPreflight | UserTurnEnded
