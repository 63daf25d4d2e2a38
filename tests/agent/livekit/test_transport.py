"""The LiveKit transport: captions as LiveKit transcription text streams, participants joining and
leaving, the assistant's voice track, and the seam (`RtcRoomConnection`) against livekit-agents'
mock room. Captions come from a real inference server."""

from __future__ import annotations

import asyncio
import time

import jiwer
import numpy as np
import pytest
from livekit.agents import types as lk_types

from agent.events import AssistantState, CaptionFinal, CaptionInterim, CaptionsStatus
from agent.room_agent import RoomAgent
from agent.transports import livekit as transport_module
from agent.transports.livekit import LiveKitAudioOutput, LiveKitRoom
from bench.audio import load_conversation, load_pcm16k
from inference_server.protocol import EMOTIONS

from tests.heard import letter_error_rate
from tests.waiting import until

from .fakes import FakeRoomConnection


def turn_audio(conversation, audio: np.ndarray, index: int) -> np.ndarray:
    """One turn of the conversation, after a moment of silence (a microphone just opened)."""
    turn = conversation.turns[index]
    return np.concatenate([np.zeros(8000, np.float32), audio[int(turn.start * 16000):int(turn.end * 16000)]])


def test_caption_attributes_are_the_ones_livekit_uses():
    assert transport_module.TOPIC_TRANSCRIPTION == lk_types.TOPIC_TRANSCRIPTION
    assert transport_module.ATTR_SEGMENT_ID == lk_types.ATTRIBUTE_TRANSCRIPTION_SEGMENT_ID
    assert transport_module.ATTR_TRACK_ID == lk_types.ATTRIBUTE_TRANSCRIPTION_TRACK_ID
    assert transport_module.ATTR_FINAL == lk_types.ATTRIBUTE_TRANSCRIPTION_FINAL


@pytest.mark.slow
async def test_captions_are_livekit_transcription_streams_and_people_come_and_go(client, audio_cache):
    conversation = load_conversation("short", audio_cache)
    audio = load_pcm16k(conversation.path)
    connection = FakeRoomConnection()
    room = LiveKitRoom("standup", connection, assistant_name="Parley")
    agent = RoomAgent(room, client)
    serving = asyncio.create_task(room.run())

    connection.join("ann", "Ann").play(turn_audio(conversation, audio, 0))
    await until(lambda: connection.captions(final=True), 30)
    assert connection.published == ["parley-assistant"]
    assert [p.name for p in room.participants] == ["Parley", "Ann"]

    [final] = connection.captions(final=True)
    assert letter_error_rate(conversation.turns[0].text, final.text) <= 0.15, final.text
    assert final.sender_identity == "ann" and final.to is None
    attributes = final.attributes
    assert attributes["lk.transcribed_track_id"] == "TR_ann_1"
    assert (attributes["parley.speaker"], attributes["parley.participant"]) == ("Ann", "ann")
    assert attributes["parley.emotion"] in EMOTIONS and 0 <= float(attributes["parley.emotion_score"]) <= 1
    assert 0 <= float(attributes["parley.start"]) < float(attributes["parley.end"])
    interims = [i for i in connection.captions(final=False) if i.sender_identity == "ann"]  # best effort under load
    assert {i.attributes["lk.segment_id"] for i in interims} <= {attributes["lk.segment_id"]}

    # Bob arrives late: he is sent what was said, then his own words are captioned.
    bob = connection.join("bob", "Bob")
    await until(lambda: any(topic == "parley.events" and to == "bob" for topic, _, to in connection.data), 30)
    [(_, history, _)] = [d for d in connection.data if d[2] == "bob"]
    assert history["type"] == "caption_history" and history["captions"][0]["speaker"] == "Ann"

    connection.leave("ann")  # mid-session; Bob's captions carry on
    bob.play(turn_audio(conversation, audio, 1))
    await until(lambda: any(t.sender_identity == "bob" for t in connection.captions(final=True)), 30)
    assert [p.name for p in room.participants] == ["Parley", "Bob"]
    [bobs] = [t for t in connection.captions(final=True) if t.sender_identity == "bob"]
    assert bobs.attributes["parley.speaker"] == "Bob" and bobs.attributes["lk.transcribed_track_id"] == "TR_bob_2"
    assert "hear" in _norm(bobs.text)

    connection.disconnect()
    await asyncio.wait_for(serving, 5)
    assert room.participants == [room.assistant]
    await agent.aclose()
    await room.aclose()
    assert connection.closed


async def test_an_utterance_is_one_segment_of_interim_streams_then_a_final_one():
    connection = FakeRoomConnection()
    room = LiveKitRoom("standup", connection)
    serving = asyncio.create_task(room.run())
    connection.join("ann", "Ann")
    await until(lambda: [p.id for p in room.participants] == [room.assistant.id, "ann"], 30)
    times = {"start": 1.0, "end": 2.0}
    await room.send(CaptionInterim(caption_id="ann-1-1", participant_id="ann", speaker="Ann", text="Good", **times))
    await room.send(CaptionFinal(caption_id="ann-1-1", participant_id="ann", speaker="Ann (2)", speaker_index=2,
                                 text="Good morning.", emotion="joy", emotion_score=0.5, **times))
    await room.send(CaptionFinal(caption_id="parley-1", participant_id=room.assistant.id, speaker="Parley",
                                 text="Hello Ann.", emotion="neutral", emotion_score=1.0, interrupted=True, **times))
    interim, final, reply = connection.texts
    assert (interim.text, interim.sender_identity, interim.attributes) == ("Good", "ann", {
        "lk.segment_id": "ann-1-1", "lk.transcription_final": "false", "lk.transcribed_track_id": "TR_ann_1",
        "parley.participant": "ann", "parley.speaker": "Ann", "parley.start": "1.000", "parley.end": "2.000"})
    assert final.attributes == {**interim.attributes, "lk.transcription_final": "true", "parley.speaker": "Ann (2)",
                                "parley.speaker_index": "2", "parley.emotion": "joy", "parley.emotion_score": "0.500",
                                "parley.interrupted": "false"}
    assert reply.sender_identity == connection.identity and reply.attributes["parley.interrupted"] == "true"
    assert reply.attributes["lk.transcribed_track_id"] == "TR_assistant"  # the assistant's published voice
    connection.disconnect()
    await serving
    await room.aclose()


async def test_a_newcomer_gets_the_colour_the_last_to_leave_gave_back():
    connection = FakeRoomConnection()
    room = LiveKitRoom("standup", connection)
    serving = asyncio.create_task(room.run())
    for identity in ("ann", "bob", "cy"):
        connection.join(identity, identity.title())
    await until(lambda: len(room.participants) == 4)
    connection.leave("bob")
    connection.join("dee", "Dee")
    await until(lambda: [p.id for p in room.participants] == [room.assistant.id, "ann", "cy", "dee"])
    assert [p.color for p in room.participants[1:]] == [0, 2, 1]
    connection.disconnect()
    await serving
    await room.aclose()


async def test_other_room_events_are_data_packets_and_the_state_an_attribute():
    connection = FakeRoomConnection()
    room = LiveKitRoom("standup", connection)
    await room.send(AssistantState(state="thinking"))
    await room.send(CaptionsStatus(available=False, message="Captions are starting up"), to="ann")
    assert connection.attributes == {"lk.agent.state": "thinking"}
    assert connection.data == [("parley.events", {"type": "assistant_state", "state": "thinking"}, None),
                               ("parley.events", {"type": "captions_status", "available": False,
                                                  "message": "Captions are starting up"}, "ann")]
    await room.aclose()


async def test_the_assistant_voice_plays_in_real_time_and_stops_at_once():
    output = LiveKitAudioOutput()
    output.start_reply()
    one_second = (np.sin(np.arange(24000) / 24000 * 2 * np.pi * 220) * 8000).astype(np.int16)
    started = time.monotonic()
    await output.push(one_second.tobytes())
    assert await output.drain()
    assert time.monotonic() - started > 0.8  # rtc.AudioSource paces it, 100 ms queue
    assert output.played_samples == 24000

    output.start_reply()
    await output.push((one_second.tobytes()) * 3)
    await until(lambda: output.played_samples >= 12000, 5)  # half a second played
    output.pause()
    paused_at = output.played_samples
    await asyncio.sleep(0.3)
    assert output.played_samples - paused_at <= 480  # at most the frame in flight
    heard = output.stop()
    assert 0.3 * 24000 < heard < 0.8 * 24000 and not await output.drain()
    assert output.source.queued_duration == 0
    await output.aclose()


def _norm(text: str) -> str:
    return jiwer.RemovePunctuation()(text.lower()).strip()
