"""Room schemas shared by the API (room listings) and the agent (room events)."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import count
from typing import Literal

from pydantic import BaseModel


class ParticipantInfo(BaseModel):
    id: str
    name: str
    kind: Literal["human", "agent"] = "human"
    color: int = 0  # palette slot, unique among the room's humans; the page picks the hue
    muted: bool = False


def free_color(taken: Iterable[int]) -> int:
    """The lowest palette slot no one present holds: a newcomer gets the colour the last to
    leave gave back, so colours stay few and distinct."""
    held = set(taken)
    return next(slot for slot in count() if slot not in held)
