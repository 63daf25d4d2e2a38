"""The room-level behaviour of the agent, over an in-memory transport."""

from __future__ import annotations

import asyncio
import json

import numpy as np

from agent.events import ParticipantInfo
from agent.room_agent import RoomAgent
from agent.testing import FakeInferenceServer, tone_pattern
from agent.transports.base import AudioStream, RoomTransport
from inference_server.client import InferenceClient
from tests.agent.conversation.harness import RecordingAudioOutput
from tests.waiting import until


class MemoryTransport(RoomTransport):
    def __init__(self) -> None:
        super().__init__("memory")
        self.assistant = ParticipantInfo(id="assistant", name="Parley", kind="agent")
        self.audio_output = RecordingAudioOutput()
        self.people: list[ParticipantInfo] = []
        self.sent: list[tuple[str | None, dict]] = []  # (recipient or None for everyone, event)

    @property
    def participants(self) -> list[ParticipantInfo]:
        return self.people

    async def _send_impl(self, payload: str, to: str | None) -> None:
        self.sent.append((to, json.loads(payload)))

    def of_type(self, kind: str) -> list[tuple[str | None, dict]]:
        return [(to, e) for to, e in self.sent if e["type"] == kind]


async def speak(audio: AudioStream, pattern: list[tuple[str, float]]) -> None:
    pcm = np.round(tone_pattern(pattern) * 32767).astype("<i2").tobytes()
    for i in range(0, len(pcm), 640):
        audio.push(pcm[i:i + 640])
        await asyncio.sleep(0.0025)


async def join(agent: RoomAgent, transport: MemoryTransport, person: ParticipantInfo) -> AudioStream:
    transport.people.append(person)
    await agent.participant_joined(person)
    audio = AudioStream()
    await agent.audio_track(person, audio)
    return audio


async def test_everyone_gets_every_caption_and_a_late_joiner_gets_the_recent_ones(fake_inference):
    transport = MemoryTransport()
    client = InferenceClient(fake_inference.url)
    agent = RoomAgent(transport, client)
    ann = await join(agent, transport, ParticipantInfo(id="ann", name="Ann"))
    await speak(ann, [("tone", 1.0), ("silence", 0.6)])
    await until(lambda: transport.of_type("final"), what="Ann's final")
    finals = transport.of_type("final")
    assert [(to, e["speaker"], e["text"]) for to, e in finals] == [(None, "Ann", "hello from ann")]

    await join(agent, transport, ParticipantInfo(id="bob", name="Bob"))
    [(to, history)] = transport.of_type("caption_history")
    assert to == "bob" and [c["text"] for c in history["captions"]] == ["hello from ann"]
    ann.close()
    await agent.aclose()
    await client.aclose()


async def test_the_room_hears_once_that_captions_are_down_and_once_that_they_are_back():
    server = FakeInferenceServer()
    await server.start()
    port = server.port
    await server.stop()
    transport = MemoryTransport()
    client = InferenceClient(f"http://127.0.0.1:{port}")
    agent = RoomAgent(transport, client)
    microphones = [await join(agent, transport, ParticipantInfo(id=p, name=p.title())) for p in ("ann", "bob")]
    await until(lambda: transport.of_type("captions_status"), what="the room told captions are down")
    down = transport.of_type("captions_status")
    assert len(down) == 1 and down[0][0] is None and down[0][1]["available"] is False
    assert "cannot be reached" in down[0][1]["message"]

    await join(agent, transport, ParticipantInfo(id="cleo", name="Cleo"))  # told on arrival
    assert transport.of_type("captions_status")[-1][0] == "cleo"

    await server.start(port)

    def statuses() -> list[bool]:
        return [e["available"] for to, e in transport.of_type("captions_status") if to is None]

    await until(lambda: statuses()[-1], what="captions back")  # every transcriber's backoff comes round
    assert statuses() == [False, True]
    for audio in microphones:
        audio.close()
    await agent.aclose()
    await client.aclose()
    await server.stop()
