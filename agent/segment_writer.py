"""Writes a room's transcript to the store as it happens: the session (started when the agent
starts, ended when it closes), its participants, and every final caption in order.

The room never waits for the store. Calls queue operations; one task applies them in order
and, when the store fails, retries the same operation with backoff until it succeeds, so a
finalized segment is never lost and never overtaken. Segments carry their own `seq`, which
makes a resend after a timeout idempotent (the store skips a seq it already has).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from parley.backoff import Backoff
from parley.store import SERVICE, NotFound
from parley.store.records import NewSegment

from .background import BackgroundWork
from .events import CaptionFinal, ParticipantInfo
from .ports import TranscriptSink

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (0.2, 0.5, 1.0, 2.0, 5.0)
MAX_BATCH = 100
SessionEnded = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class _Participant:
    info: ParticipantInfo


@dataclass(frozen=True)
class _End:
    pass


class SegmentWriter:
    def __init__(self, store: TranscriptSink, room: str, *, on_ended: SessionEnded | None = None,
                 background: BackgroundWork | None = None, retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S) -> None:
        self.store, self.room = store, room
        self.background = background or BackgroundWork()  # where writes and after-session work go on
        self.session_id: str | None = None
        self._on_ended = on_ended
        self._delays = retry_delays_s
        self._pending: deque[_Participant | NewSegment | _End] = deque()
        self._participants: dict[str, str] = {}  # room participant id -> stored participant id
        self._seq = 0
        self._wake = asyncio.Event()
        self._disabled = False
        self._task = asyncio.create_task(self._run(), name=f"transcript-{room}")

    # --- called by the room (never blocks) ----------------------------------------------

    def participant(self, info: ParticipantInfo) -> None:
        self._push(_Participant(info))

    def final(self, caption: CaptionFinal) -> None:
        self._seq += 1
        self._push(NewSegment(seq=self._seq, participant_id=caption.participant_id, speaker=caption.speaker,
                              start=max(0.0, caption.start), end=max(caption.start, caption.end, 0.0),
                              text=caption.text, emotion=caption.emotion, emotion_score=caption.emotion_score))

    async def aclose(self, timeout_s: float = 10.0) -> None:
        """End the session. Waits up to `timeout_s` for the store; after that the writer
        goes on retrying in the background rather than dropping what it holds."""
        self._push(_End())
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout_s)
        except TimeoutError:
            log.warning("room %s: the store is unreachable; %d transcript writes wait for it",
                        self.room, len(self._pending))
            self.background.keep(self._task)

    @property
    def pending(self) -> int:
        return len(self._pending)

    # --- the writer task ----------------------------------------------------------------

    def _push(self, item: _Participant | NewSegment | _End) -> None:
        if not self._disabled:
            self._pending.append(item)
            self._wake.set()

    async def _run(self) -> None:
        await self._retrying(self._start)
        # A session is one meeting: it starts with the room's agent, ends when it closes.
        while not self._disabled:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
                continue
            head = self._pending[0]
            if isinstance(head, _End):
                await self._retrying(self._end)
                return
            if isinstance(head, _Participant):
                await self._retrying(lambda info=head.info: self._add_participant(info))
                done = 1
            else:
                batch = self._segment_batch()
                await self._retrying(lambda segments=batch: self._append(segments))
                done = len(batch)
            for _ in range(min(done, len(self._pending))):  # a disabled writer has cleared them
                self._pending.popleft()

    def _segment_batch(self) -> list[NewSegment]:
        batch: list[NewSegment] = []
        for item in self._pending:
            if not isinstance(item, NewSegment) or len(batch) == MAX_BATCH:
                break
            batch.append(item)
        return batch

    async def _retrying(self, operation: Callable[[], Awaitable[None]]) -> None:
        backoff = Backoff(self._delays)
        while not self._disabled:
            try:
                await operation()
                if backoff.failures:
                    log.info("room %s: the store is back; transcript writes resumed", self.room)
                return
            except NotFound as exc:  # the room or session is gone (deleted): nothing to write to
                log.warning("room %s: transcript not kept: %s", self.room, exc)
                self._disabled = True
                self._pending.clear()
            except Exception as exc:  # noqa: BLE001 - any store failure is retried, never fatal
                if not backoff.failures:
                    log.warning("room %s: cannot write the transcript (%s); retrying", self.room, exc)
                await asyncio.sleep(backoff.next_delay())

    async def _start(self) -> None:
        self.session_id = (await self.store.start_session(SERVICE, self.room)).id

    async def _add_participant(self, info: ParticipantInfo) -> None:
        stored = await self.store.add_participant(SERVICE, self.session_id, info.id, info.name)
        self._participants[info.id] = stored.id

    async def _append(self, batch: list[NewSegment]) -> None:
        mapped = [s.model_copy(update={"participant_id": self._participants.get(s.participant_id)}) for s in batch]
        await self.store.append_segments(SERVICE, self.session_id, mapped)

    async def _end(self) -> None:
        await self.store.end_session(SERVICE, self.session_id)
        self._pending.clear()
        if self._on_ended is not None:  # e.g. memories and a title: slow LLM work, not the room's to wait for
            self.background.keep(asyncio.create_task(self._after_session(self.session_id),
                                                     name=f"after-session-{self.room}"))

    async def _after_session(self, session_id: str) -> None:
        try:
            await self._on_ended(session_id)
        except Exception:  # after-session work must not fail the writer
            log.exception("room %s: after-session work failed", self.room)
