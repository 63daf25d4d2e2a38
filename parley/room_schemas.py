"""Room schemas shared by the API (room listings) and the agent (room events)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class ParticipantInfo(BaseModel):
    id: str
    name: str
    kind: Literal["human", "agent"] = "human"
    color: int = 0  # palette slot, unique among the room's humans; the page picks the hue
    muted: bool = False
