"""A reply that cannot be spoken: empty LLM output, and speech synthesis failing. Real LLM server."""

from __future__ import annotations

import string
from collections.abc import AsyncIterator

import pytest

from agent.conversation.reply import SpokenReply
from inference_server.client import InferenceClient, InferenceError

from .conftest import open_room
from .harness import RecordingAudioOutput
from .test_turns import SHORT

pytestmark = pytest.mark.slow

QUESTION = [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Ann: What is the capital of France?"}]


class VoicelessClient(InferenceClient):
    """The real server for everything but speech, which fails as a crashed TTS would."""

    async def speech(self, text: str, **options) -> AsyncIterator[bytes]:
        raise InferenceError("500: speech synthesis failed", status=500)
        yield b""  # an async generator, like the real one


async def test_an_empty_llm_answer_is_a_failure_without_audio(inference_url):
    output = RecordingAudioOutput()
    async with InferenceClient(inference_url) as client:
        # Every answer starts with a letter, digit or punctuation; stopping at each leaves nothing.
        reply = SpokenReply(client, output, QUESTION, stop=list(string.ascii_letters + string.digits + "*#-"))
        reply.confirm()
        result = await reply.run()
    assert result.failure == "empty" and result.text == "" and output.frames == []
    await output.aclose()


async def test_when_speech_fails_the_answer_is_shown_as_text_with_a_notice(inference_url):
    voiceless = VoicelessClient(inference_url)
    room, _ = await open_room(inference_url, SHORT, client=voiceless)
    try:
        await room.join("ann", "Ann")
        await room.say("ann", "Ann", "What is the capital of France?")
        metrics = await room.wait_turn()
        assert metrics.outcome == "failed" and room.output.frames == []
        [notice] = room.of_type("assistant_notice")
        assert "shown as text" in notice.message
        [final] = room.of_type("final")
        assert final.speaker == "Parley" and final.text
        assert room.lines()[-1] == ("Parley", final.text), "what the room was shown is in the context"
    finally:
        await room.conversation.aclose()
        await room.output.aclose()
        await voiceless.aclose()
