"""Room events: the JSON messages on a room's data channel, one definition for server, page and tests.

server -> page: presence (sent by the transport), captions and the assistant's turns (the agent).
page -> server: mute state, leave, keep-alive.
Caption times are seconds of the participant's own audio, counted from when it joined.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter

from parley.room_schemas import ParticipantInfo


# --- presence (transport) -----------------------------------------------------------------


class Welcome(BaseModel):
    """First message to a participant whose connection is up."""

    type: Literal["welcome"] = "welcome"
    room: str
    you: str  # the receiver's participant id
    participants: list[ParticipantInfo]


class ParticipantJoined(BaseModel):
    type: Literal["participant_joined"] = "participant_joined"
    participant: ParticipantInfo


class ParticipantUpdated(BaseModel):
    type: Literal["participant_updated"] = "participant_updated"
    participant: ParticipantInfo


class ParticipantLeft(BaseModel):
    type: Literal["participant_left"] = "participant_left"
    participant_id: str
    reason: Literal["left", "timeout", "failed"] = "left"


# --- captions (agent) ---------------------------------------------------------------------


class Speaking(BaseModel):
    type: Literal["speaking"] = "speaking"
    participant_id: str
    speaking: bool


class CaptionInterim(BaseModel):
    """The growing text of an utterance; replaces the previous interim with the same id."""

    type: Literal["interim"] = "interim"
    caption_id: str
    participant_id: str
    speaker: str  # best guess until the final: the participant's latest label
    text: str
    start: float
    end: float  # audio time up to which `text` was decoded


class CaptionFinal(BaseModel):
    """A finished utterance; replaces the interim with the same id. The assistant's replies
    are captioned the same way, under its name; `interrupted` marks one cut short by a human."""

    type: Literal["final"] = "final"
    caption_id: str
    participant_id: str
    speaker: str  # "Ann", or "Ann (2)" for a second voice on Ann's microphone
    speaker_index: int = 1  # 1 for the participant's first voice, 2 for the second, ...
    text: str
    start: float
    end: float
    emotion: str
    emotion_score: float
    interrupted: bool = False


class CaptionHistory(BaseModel):
    """Recent finals, so a late joiner sees what was just said."""

    type: Literal["caption_history"] = "caption_history"
    captions: list[CaptionFinal]


class CaptionsStatus(BaseModel):
    type: Literal["captions_status"] = "captions_status"
    available: bool
    message: str = ""


# --- the assistant's turns (agent/conversation) -------------------------------------------


class AssistantState(BaseModel):
    """What the assistant is doing (LiveKit's `lk.agent.state`)."""

    type: Literal["assistant_state"] = "assistant_state"
    state: Literal["listening", "thinking", "speaking"]


class AssistantNotice(BaseModel):
    """Shown in the page when a reply failed, so the room does not get silence."""

    type: Literal["assistant_notice"] = "assistant_notice"
    message: str


class TurnMetrics(BaseModel):
    """One reply's latencies in seconds, with LiveKit's names; None where the stage did not happen."""

    type: Literal["turn_metrics"] = "turn_metrics"
    turn: int
    outcome: Literal["completed", "interrupted", "failed", "empty"]
    end_of_utterance_delay: float | None = None  # end of speech -> the turn was judged over
    transcription_delay: float | None = None  # end of speech -> its final transcript
    ttft: float | None = None  # LLM request -> first token
    ttfb: float | None = None  # first TTS request -> first audio byte
    e2e_latency: float | None = None  # end of speech -> first reply audio leaving the server
    reply_audio_s: float = 0.0  # seconds of reply audio played


ServerEvent = Annotated[
    Welcome | ParticipantJoined | ParticipantUpdated | ParticipantLeft | Speaking | CaptionInterim
    | CaptionFinal | CaptionHistory | CaptionsStatus | AssistantState | AssistantNotice | TurnMetrics,
    Field(discriminator="type"),
]
server_event_adapter: TypeAdapter[ServerEvent] = TypeAdapter(ServerEvent)


# --- page -> server -----------------------------------------------------------------------


class SetMuted(BaseModel):
    type: Literal["mute"] = "mute"
    muted: bool


class Leave(BaseModel):
    type: Literal["leave"] = "leave"


class Ping(BaseModel):
    """Keeps a connection with a quiet microphone (muted, DTX) from looking vanished."""

    type: Literal["ping"] = "ping"


ClientMessage = Annotated[SetMuted | Leave | Ping, Field(discriminator="type")]
client_message_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
