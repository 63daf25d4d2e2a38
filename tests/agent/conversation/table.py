"""Plays a conversation case in virtual time: input events at set times in, a timeline out.

The engine runs with `ScriptedInference` (agent/testing.py) on tests/virtual_time.py's loop, so
a case takes milliseconds and its timeline is exact. The timeline merges what the engine
published (state, captions, notices, turn metrics) with what the room heard: `audio starts` at
the first frame of a run of audio, `audio stops` when its last frame has played.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from pydantic import BaseModel

from agent.conversation import ConversationOptions, ReplyOptions, RoomConversation
from agent.conversation.engine import Recall
from agent.conversation.events import (UserInput, UserPreflight, UserStartedSpeaking, UserStoppedSpeaking,
                                       UserTranscript, UserTurnEnded, now)
from agent.events import ParticipantInfo
from agent.testing import ScriptedInference, ScriptedReply
from tests.virtual_time import run

from .harness import ASSISTANT, RecordingAudioOutput, ScriptedRoom, speech_events

OPTIONS = ConversationOptions(reply=ReplyOptions(max_sentences=3))
FRAME_S = RecordingAudioOutput.frame_ms / 1000

Timeline = list[tuple[float, UserInput]]


def says(name: str, text: str | None, at: float, **options) -> Timeline:
    """`name` (id: lowercased) says `text` at `at`: see `speech_events`."""
    return speech_events(name.lower(), name, text, at, **options)


def starts(name: str, at: float) -> Timeline:
    """Speech starts; what it was comes later (or never)."""
    return [(at, UserStartedSpeaking(name.lower(), at))]


def stops(name: str, at: float, speech_end: float) -> Timeline:
    return [(at, UserStoppedSpeaking(name.lower(), at, speech_end_at=speech_end))]


def final(name: str, text: str, at: float, emotion: str = "neutral") -> Timeline:
    return [(at, UserTranscript(name.lower(), name, text, True, at, emotion, 0.8))]


def pauses(name: str, text: str, at: float, end: float) -> Timeline:
    """The server's preflight: `text` so far, at a pause after speech up to `end` (stream seconds)."""
    return [(at, UserPreflight(name.lower(), name, text, at, end=end))]


def turn_ends(name: str, at: float, end: float) -> Timeline:
    """The server's end of turn, on speech up to `end` (stream seconds)."""
    return [(at, UserTurnEnded(name.lower(), at, end=end, probability=0.9))]


@dataclass
class Case:
    name: str
    inputs: Timeline
    replies: list[str | ScriptedReply]
    expect: list[str]
    lines: list[tuple[str, str]] | None = None  # the conversation as the next prompt will have it
    asked: list[str] | None = None  # the words each reply was generated for (the prompt's last line)
    humans: tuple[str, ...] = ("Ann",)
    options: ConversationOptions = OPTIONS
    until: float = 60.0  # how long the room runs

    def __str__(self) -> str:
        return self.name


@dataclass
class Played:
    timeline: list[str]
    inference: ScriptedInference
    room: ScriptedRoom
    asked: list[str] = field(default_factory=list)  # the last line of each reply's prompt


def describe(event: BaseModel) -> str:
    kind = getattr(event, "type", type(event).__name__)
    if kind == "assistant_state":
        return f"state {event.state}"
    if kind == "speaking":
        return f"speaking {'on' if event.speaking else 'off'}"
    if kind == "interim":
        return f"says: {event.text}"
    if kind == "final":
        return f"final{' (interrupted)' if event.interrupted else ''}: {event.text}"
    if kind == "assistant_notice":
        return f"notice: {event.message}"
    if kind == "turn_metrics":
        return f"turn {event.turn} {event.outcome}, {event.reply_audio_s:.2f} s heard"
    return kind


class _LoggedAudioOutput(RecordingAudioOutput):
    """Frames go into the log with the published events, in the order they happened."""

    def __init__(self, log: list[tuple[float, BaseModel | None]]) -> None:
        super().__init__()
        self._log = log

    def _emit_impl(self, frame) -> None:
        super()._emit_impl(frame)
        self._log.append((now(), None))


def as_lines(log: list[tuple[float, BaseModel | None]]) -> list[str]:
    """The log as lines; a run of frames (a gap longer than a frame ends it) as its start and its
    end (when its last frame has played)."""
    entries: list[tuple[float, float, str]] = []
    frames = [(at, i) for i, (at, event) in enumerate(log) if event is None]
    for n, (at, i) in enumerate(frames):
        if n == 0 or at - frames[n - 1][0] > FRAME_S * 1.5:
            if n:
                entries.append((frames[n - 1][0] + FRAME_S, frames[n - 1][1] + 0.5, "audio stops"))
            entries.append((at, i, "audio starts"))
    if frames:
        entries.append((frames[-1][0] + FRAME_S, frames[-1][1] + 0.5, "audio stops"))
    entries += [(at, i, describe(event)) for i, (at, event) in enumerate(log) if event is not None]
    return [f"{at:6.2f} {what}" for at, _, what in sorted(entries)]


async def _play(case: Case, recall: Recall | None) -> Played:
    inference = ScriptedInference(case.replies)
    log: list[tuple[float, BaseModel | None]] = []
    output = _LoggedAudioOutput(log)
    published: list[tuple[float, BaseModel]] = []

    async def publish(event: BaseModel) -> None:
        published.append((now(), event))
        log.append((now(), event))

    conversation = RoomConversation(inference, output, publish, room="table", assistant=ASSISTANT,
                                    options=case.options, recall=recall)
    room = ScriptedRoom(conversation, published, output)
    for name in case.humans:
        await conversation.participant_joined(ParticipantInfo(id=name.lower(), name=name))
    for at, event in sorted(case.inputs, key=lambda pair: pair[0]):
        await asyncio.sleep(at - now())
        await conversation.push(event)
    await asyncio.sleep(case.until - now())
    await conversation.aclose()
    await output.aclose()
    return Played(as_lines(log), inference, room, [chat[-1]["content"].splitlines()[-1] for chat in inference.chats])


def play(case: Case, recall: Recall | None = None) -> Played:
    return run(_play(case, recall))
