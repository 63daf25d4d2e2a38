"""The assistant's presence in one room, independent of the transport: live captions for everyone,
and a voice that answers (agent/conversation).

One transcriber per participant track; every caption goes to the whole room; recent finals
(the assistant's included) are replayed to late joiners; the room hears one notice when
captions go away or come back, not one per participant. The transcribers also feed the
room's conversation, which speaks through the transport's audio output.
"""

from __future__ import annotations

import asyncio
import collections
import logging

from pydantic import BaseModel

from .conversation import ConversationOptions, RoomConversation
from .conversation.engine import Recall
from .events import CaptionFinal, CaptionHistory, CaptionsStatus, ParticipantInfo
from .ports import Inference
from .segment_writer import SegmentWriter
from .transcriber import ParticipantTranscriber
from .transports.base import AudioStream, RoomTransport

log = logging.getLogger(__name__)

HISTORY_SIZE = 50


class RoomAgent:
    def __init__(self, transport: RoomTransport, client: Inference, *,
                 options: ConversationOptions | None = None, transcript: SegmentWriter | None = None,
                 recall: Recall | None = None) -> None:
        self.transport = transport
        self._client = client
        self.conversation = RoomConversation(client, transport.audio_output, self._publish, room=transport.room,
                                             assistant=transport.assistant, options=options, recall=recall)
        self._tasks: set[asyncio.Task] = set()
        self._history: collections.deque[CaptionFinal] = collections.deque(maxlen=HISTORY_SIZE)
        self._unavailable: dict[str, str] = {}  # participant id -> why its captions are down
        self._announced = CaptionsStatus(available=True)
        self.transcript = transcript  # where finals are kept (the store); None: captions only
        if transcript is not None:
            transcript.participant(transport.assistant)
        transport.attach(self)

    @property
    def captions_status(self) -> CaptionsStatus:
        if not self._unavailable:
            return CaptionsStatus(available=True)
        return CaptionsStatus(available=False, message=next(reversed(self._unavailable.values())))

    # --- RoomListener ---------------------------------------------------------------------------

    async def participant_joined(self, participant: ParticipantInfo) -> None:
        if self.transcript is not None:
            self.transcript.participant(participant)
        await self.conversation.participant_joined(participant)
        if self._history:
            await self.transport.send(CaptionHistory(captions=list(self._history)), to=participant.id)
        if self._unavailable:
            await self.transport.send(self.captions_status, to=participant.id)

    async def participant_left(self, participant: ParticipantInfo) -> None:
        # Its transcriber ends with the audio (after the last finals); only the notice state goes now.
        await self._status_changed(participant.id, True, "")
        await self.conversation.participant_left(participant)

    async def audio_track(self, participant: ParticipantInfo, audio: AudioStream) -> None:
        transcriber = ParticipantTranscriber(self._client, participant, audio, self._publish,
                                             self._status_changed, hear=self.conversation.push)
        task = asyncio.create_task(transcriber.run(), name=f"captions-{participant.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- internals ------------------------------------------------------------------------------

    async def _publish(self, event: BaseModel) -> None:
        if isinstance(event, CaptionFinal):
            self._history.append(event)
            if self.transcript is not None:
                self.transcript.final(event)
        await self.transport.send(event)

    async def _status_changed(self, participant_id: str, available: bool, message: str) -> None:
        if available:
            self._unavailable.pop(participant_id, None)
        else:
            self._unavailable[participant_id] = message
        status = self.captions_status
        if status != self._announced:
            self._announced = status
            await self.transport.send(status)

    async def aclose(self) -> None:
        await self.conversation.aclose()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.transcript is not None:  # last: every final captioned so far is in its queue
            await self.transcript.aclose()
