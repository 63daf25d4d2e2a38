"""Preemptive replies: the LLM starts on the words of a pause, the audio waits for the end of the turn,
and a reply to words that changed is never heard. Real inference server (test LLM, real TTS)."""

from __future__ import annotations

import asyncio
import time

import pytest

from agent.conversation import (ConversationOptions, ReplyOptions, UserPreflight, UserStartedSpeaking,
                                UserStoppedSpeaking, UserTranscript, UserTurnEnded)
from inference_server.client import InferenceClient

from .conftest import open_room

pytestmark = pytest.mark.slow

SHORT = ConversationOptions(reply=ReplyOptions(max_sentences=1, max_tokens=30, temperature=0.2))


class PromptRecordingClient(InferenceClient):
    """The real client, keeping the last user message of every reply it is asked for."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.asked: list[str] = []

    def chat_stream(self, messages, **options):
        self.asked.append(messages[-1]["content"])
        return super().chat_stream(messages, **options)


@pytest.fixture
async def room(inference_url):
    client = PromptRecordingClient(inference_url)
    room, _ = await open_room(inference_url, SHORT, client=client)
    room.client = client
    await room.join("ann", "Ann")
    yield room
    await room.conversation.aclose()
    await room.output.aclose()
    await client.aclose()


async def generation_started(client: PromptRecordingClient, count: int) -> None:
    while len(client.asked) < count:
        await asyncio.sleep(0.01)


async def test_a_reply_starts_on_the_pause_and_plays_when_the_turn_ends(room):
    push = room.conversation.push
    await push(UserStartedSpeaking("ann", time.monotonic()))
    await push(UserPreflight("ann", "Ann", "What is the capital of France?", time.monotonic(), end=2.0))
    await asyncio.wait_for(generation_started(room.client, 1), 10)  # the LLM runs during the silence
    await asyncio.sleep(1.0)
    assert room.output.frames == [], "no audio before the end of the turn"

    ended = time.monotonic()
    await push(UserTurnEnded("ann", ended, end=1.9, probability=0.9))
    await push(UserStoppedSpeaking("ann", time.monotonic(), speech_end_at=ended - 0.3))
    await push(UserTranscript("ann", "Ann", "What is the capital of France?", True, time.monotonic()))
    metrics = await room.wait_turn(30)

    assert metrics.outcome == "completed" and room.output.frames[0][0] >= ended
    assert len(room.client.asked) == 1, "the same words as final: not asked again"
    assert room.lines()[0] == ("Ann", "What is the capital of France?") and len(room.lines()) == 2


async def test_a_reply_to_words_that_changed_is_never_heard(room):
    push = room.conversation.push
    await push(UserStartedSpeaking("ann", time.monotonic()))
    await push(UserPreflight("ann", "Ann", "How many minutes are there in", time.monotonic(), end=1.6))
    await asyncio.wait_for(generation_started(room.client, 1), 10)
    # She goes on after the pause: the next pause's words replace the first.
    await push(UserPreflight("ann", "Ann", "How many minutes are there in one hour?", time.monotonic(), end=3.0))
    await asyncio.wait_for(generation_started(room.client, 2), 10)
    ended = time.monotonic()
    await push(UserTurnEnded("ann", ended, end=2.9, probability=0.8))
    await push(UserStoppedSpeaking("ann", time.monotonic(), speech_end_at=ended - 0.3))
    await push(UserTranscript("ann", "Ann", "How many minutes are there in one hour?", True, time.monotonic()))
    await room.wait_turn(30)
    await asyncio.sleep(0.5)

    assert room.client.asked[0].endswith("How many minutes are there in")
    assert room.client.asked[1].endswith("How many minutes are there in one hour?")
    assert len(room.of_type("turn_metrics")) == 1, "the first reply was dropped unheard"
    assert [e.state for e in room.of_type("assistant_state")] == ["thinking", "speaking", "listening"]
    assert room.output.frames[0][0] >= ended


async def test_a_turn_that_ended_on_later_speech_drops_the_reply_to_the_earlier_words(room):
    push = room.conversation.push
    await push(UserStartedSpeaking("ann", time.monotonic()))
    await push(UserPreflight("ann", "Ann", "Tell me about the", time.monotonic(), end=1.2))
    await asyncio.wait_for(generation_started(room.client, 1), 10)
    # No new words came in time, but the server heard speech until 2.4 s: the reply answers old words.
    await push(UserTurnEnded("ann", time.monotonic(), end=2.4, probability=0.7))
    await asyncio.sleep(1.5)
    assert room.output.frames == [] and not room.of_type("turn_metrics")

    await push(UserStoppedSpeaking("ann", time.monotonic(), speech_end_at=time.monotonic() - 0.3))
    await push(UserTranscript("ann", "Ann", "Tell me about the moon.", True, time.monotonic()))
    metrics = await room.wait_turn(30)  # the final's words: the turn is over already, so it plays
    assert metrics.outcome == "completed"
    assert room.client.asked[-1].endswith("Tell me about the moon.")


async def test_words_heard_answered_before_their_final_keep_their_place_in_the_conversation(room):
    push = room.conversation.push
    await push(UserStartedSpeaking("ann", time.monotonic()))
    await push(UserPreflight("ann", "Ann", "Name a color.", time.monotonic(), end=1.0))
    await push(UserTurnEnded("ann", time.monotonic(), end=0.9, probability=0.9))
    await room.wait_for(lambda e: e.type == "speaking" and e.speaking, 30)  # heard before the final came
    await push(UserStoppedSpeaking("ann", time.monotonic(), speech_end_at=time.monotonic() - 1.0))
    await push(UserTranscript("ann", "Ann", "Name a color.", True, time.monotonic(), "joy", 0.8))
    await room.wait_turn(30)
    await asyncio.sleep(1.0)

    assert [speaker for speaker, _ in room.lines()] == ["Ann", "Parley"], "question first, answered once"
    assert room.conversation.context.lines[0].emotion == "joy", "the final's details reach the line"
    assert len(room.of_type("turn_metrics")) == 1 and len(room.client.asked) == 1
