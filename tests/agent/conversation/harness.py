"""A room for the conversation engine without a transport: scripted speech in, everything out recorded.

`RecordingAudioOutput` is a paced `PacedAudioOutput` that keeps every frame it plays with
its time: our own seam to the transport, so tests see exactly what the room would hear.
`speech_events` is one utterance as a transcription stream reports it, on a timeline. Times are
the engine's clock (`now()`): real on an ordinary loop, virtual on tests/virtual_time.py's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
from pydantic import BaseModel

from agent.conversation import (
    PacedAudioOutput,
    RoomConversation,
    UserStartedSpeaking,
    UserStoppedSpeaking,
    UserTranscript,
    UserTurnEnded,
)
from agent.conversation.context import AssistantLine, HumanLine
from agent.conversation.events import UserInput, now
from agent.events import ParticipantInfo
from inference_server.audio import encode_wav

VAD_SILENCE_S = 0.4  # the inference server's min_silence_ms: speech_ended comes this long after the words
FINAL_AFTER_S = 0.15  # the final usually follows speech_ended closely (it is decoded during the silence)
INTERIM_EVERY_S = 0.4  # the server's interim_interval_ms
ASSISTANT = ParticipantInfo(id="assistant", name="Parley", kind="agent")


class RecordingAudioOutput(PacedAudioOutput):
    def __init__(self) -> None:
        super().__init__()
        self.frames: list[tuple[float, np.ndarray]] = []
        self.pauses: list[float] = []  # when pause() or stop() silenced it

    def _emit_impl(self, frame: np.ndarray) -> None:
        self.frames.append((now(), frame))

    def _clear_sink_impl(self) -> None:
        self.pauses.append(now())

    def audio(self, since: float = 0.0) -> np.ndarray:
        parts = [frame for at, frame in self.frames if at >= since]
        return np.concatenate(parts) if parts else np.zeros(0, np.int16)

    def wav(self, since: float = 0.0) -> bytes:
        return encode_wav(self.audio(since), self.sample_rate)

    def last_frame_at(self) -> float | None:
        return self.frames[-1][0] if self.frames else None


def speech_events(pid: str, speaker: str, text: str | None, at: float, *, speech_s: float = 0.8,
                  emotion: str = "neutral", turn_ends: bool = True) -> list[tuple[float, UserInput]]:
    """`text` spoken from `at` for `speech_s`, with the events a real stream sends: interims as it
    grows, speech_ended after the VAD's silence, then the final (none when `text` is None: noise),
    then the server's end of turn if `turn_ends`."""
    events: list[tuple[float, UserInput]] = [(at, UserStartedSpeaking(pid, at))]
    words = (text or "").split()
    shown_at = at + INTERIM_EVERY_S
    while shown_at < at + speech_s and words:  # the growing text
        shown = " ".join(words[:max(1, int(len(words) * (shown_at - at) / speech_s))])
        events.append((shown_at, UserTranscript(pid, speaker, shown, False, shown_at)))
        shown_at += INTERIM_EVERY_S
    ended = at + speech_s
    stopped = ended + VAD_SILENCE_S
    events.append((stopped, UserStoppedSpeaking(pid, stopped, speech_end_at=ended)))
    final_at = stopped + FINAL_AFTER_S
    if text is not None:
        events.append((final_at, UserTranscript(pid, speaker, text, True, final_at, emotion, 0.8)))
    if turn_ends:
        events.append((final_at, UserTurnEnded(pid, final_at, end=ended, probability=0.9)))
    return events


class ScriptedRoom:
    def __init__(self, conversation: RoomConversation, published: list[tuple[float, BaseModel]],
                 output: RecordingAudioOutput) -> None:
        self.conversation = conversation
        self.published = published
        self.output = output
        self._changed = asyncio.Event()

    def notify(self) -> None:
        self._changed.set()

    async def join(self, pid: str, name: str) -> None:
        await self.conversation.participant_joined(ParticipantInfo(id=pid, name=name))

    async def say(self, pid: str, speaker: str, text: str | None, *, speech_s: float = 0.8,
                  emotion: str = "neutral", then_resume_after_s: float | None = None,
                  turn_ends: bool | None = None) -> None:
        """`text` spoken now as `speech_events` has it, in the loop's time. With `then_resume_after_s`
        it returns that long after the words ended, for the speaker to go on (a pause
        mid-sentence; then no end of turn comes unless `turn_ends`)."""
        started = now()
        ends = turn_ends if turn_ends is not None else then_resume_after_s is None
        for at, event in speech_events(pid, speaker, text, started, speech_s=speech_s, emotion=emotion,
                                       turn_ends=ends):
            await asyncio.sleep(max(0.0, at - now()))
            await self.conversation.push(event)
        if then_resume_after_s is not None:
            await asyncio.sleep(max(0.0, started + speech_s + then_resume_after_s - now()))

    def of_type(self, kind: str, since: float = 0.0) -> list[BaseModel]:
        return [e for at, e in self.published if getattr(e, "type", None) == kind and at >= since]

    async def wait_for(self, predicate: Callable[[BaseModel], bool], timeout: float, since: float = 0.0) -> BaseModel:
        deadline = now() + timeout
        while True:
            found = next((e for at, e in self.published if at >= since and predicate(e)), None)
            if found is not None:
                return found
            left = deadline - now()
            if left <= 0:
                raise TimeoutError(f"no matching event within {timeout} s; got "
                                   f"{[getattr(e, 'type', e) for _, e in self.published if _ >= since]}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                pass

    async def wait_turn(self, timeout: float = 60.0, since: float = 0.0):
        """The next turn's metrics (sent when a reply ends, whatever the outcome)."""
        return await self.wait_for(lambda e: getattr(e, "type", None) == "turn_metrics", timeout, since)

    def lines(self) -> list[tuple[str, str]]:
        out = []
        for line in self.conversation.context.lines:
            if isinstance(line, HumanLine):
                out.append((line.speaker, line.text))
            elif isinstance(line, AssistantLine):
                out.append(("Parley" + (" (interrupted)" if line.interrupted else ""), line.text))
        return out
