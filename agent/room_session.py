"""One room's agent with its kept transcript and memory, as both transports' hosts build it.

Finals go to the store through a buffered SegmentWriter; memories are recalled into replies
and, when the session ends, a title, a summary and new memories are extracted. That last,
slow work runs as the host's `BackgroundWork`, so a room closes at once and the host decides
how long to wait for it (an API stopping, a LiveKit job ending).
"""

from __future__ import annotations

from collections.abc import Callable

from parley.settings import Settings

from .background import BackgroundWork
from .conversation.options import ConversationOptions
from .memory import RoomMemory
from .ports import Inference, RoomStore
from .room_agent import RoomAgent
from .segment_writer import SegmentWriter
from .transports.base import RoomTransport


class RoomSession:
    def __init__(self, room: RoomTransport, store: RoomStore, inference: Inference, *,
                 options: ConversationOptions, background: BackgroundWork) -> None:
        self.background = background
        self.memory = RoomMemory(store, inference, room.room)
        self.transcript = SegmentWriter(store, room.room, on_ended=self.memory.after_session, background=background)
        self.agent = RoomAgent(room, inference, options=options, transcript=self.transcript,
                               recall=self.memory.recall)

    async def aclose(self, *, wait_s: float = 0.0) -> bool:
        """End the session (its transcript flushed, bounded); with `wait_s`, also wait that long
        for the background work. False if some was dropped."""
        await self.agent.aclose()
        return await self.background.drain(wait_s) if wait_s else True


def room_sessions(settings: Settings, store: RoomStore, inference: Inference,
                  background: BackgroundWork) -> Callable[[RoomTransport], RoomSession]:
    options = ConversationOptions.from_settings(settings)
    return lambda room: RoomSession(room, store, inference, options=options, background=background)
