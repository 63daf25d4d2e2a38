"""Request and response bodies of the API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from parley.room_schemas import ParticipantInfo
from parley.settings import IceServer

ROOM_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$"
ROOM_HINT = "use 1-40 lowercase letters, digits and dashes, e.g. 'team-standup'"
NAME_HINT = "use 1-40 characters, no control characters, not ending in a number in brackets"


def _display_name(value: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("a name cannot contain control characters")
    if value.endswith(")") and value.rpartition(" (")[2][:-1].isdigit():
        # "Ann (2)" is how captions label a second voice on Ann's microphone.
        raise ValueError("a name cannot end in a number in brackets, e.g. '(2)'")
    return value


DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40),
                        AfterValidator(_display_name)]


class JoinRequest(BaseModel):
    token: str = Field(min_length=1, max_length=4096, description="A join token from POST /api/rooms/{room}/token; "
                                                                   "it names the room and your caption label.")
    sdp: str = Field(min_length=1, max_length=100_000, description="The browser's SDP offer, ICE candidates included.")
    type: Literal["offer"] = "offer"


class JoinResponse(BaseModel):
    room: str
    participant: ParticipantInfo
    sdp: str
    type: Literal["answer"] = "answer"


class RoomInfo(BaseModel):
    room: str
    participants: list[ParticipantInfo]
    max_participants: int


class ClientConfig(BaseModel):
    """What the page needs before it can make an offer."""

    ice_servers: list[IceServer]
    max_participants: int
    assistant_name: str
    transport: Literal["embedded", "livekit"] = "embedded"  # livekit when PARLEY_LIVEKIT_URL is set


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    inference: Literal["ready", "loading", "error", "unreachable"]
    inference_detail: str = ""
