"""The room agent as both transports run it: captions, spoken replies, transcript kept, memory.

One definition, so the embedded API and the LiveKit worker behave the same: finals go to the
store through a buffered SegmentWriter, memories are recalled into replies and extracted
when the session ends.
"""

from __future__ import annotations

from collections.abc import Callable

from inference_server.client import InferenceClient
from parley.settings import Settings

from .conversation.engine import ConversationOptions
from .memory import RoomMemory
from .ports import RoomStore
from .room_agent import RoomAgent
from .segment_writer import SegmentWriter
from .transports.base import RoomTransport


def kept_room_agent(settings: Settings, store: RoomStore, client: InferenceClient) -> Callable[[RoomTransport], RoomAgent]:
    options = ConversationOptions.from_settings(settings)

    def build(room: RoomTransport) -> RoomAgent:
        memory = RoomMemory(store, client, room.room)
        transcript = SegmentWriter(store, room.room, on_ended=memory.after_session)
        return RoomAgent(room, client, options=options, transcript=transcript, recall=memory.recall)

    return build
