"""The port between the API's signalling routes and what hosts rooms in the API process.

The API asks a `RoomHost` who is in a room and hands it a browser's SDP offer; the embedded
transport implements it, and the composition (`parley.compose`) wires the two, so neither
imports the other. The errors are the host's answers, each with a message for the person joining.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .room_schemas import ParticipantInfo


class InvalidOffer(ValueError):
    """The offer cannot start a call; the message says why."""


class JoinRefused(Exception):
    """The room cannot take this participant."""


class RoomFull(JoinRefused):
    pass


class NameTaken(JoinRefused):
    pass


@dataclass(frozen=True)
class Joined:
    participant: ParticipantInfo
    sdp: str  # the answer


class RoomHost(Protocol):
    def participants(self, room: str) -> list[ParticipantInfo]:
        """Who is in `room`; the assistant is in every room, even one nobody opened yet."""

    async def join(self, room: str, name: str, offer_sdp: str) -> Joined:
        """Raises InvalidOffer or JoinRefused (RoomFull, NameTaken)."""

    async def aclose(self) -> None:
        """Close every room, keeping what they still have to write."""
