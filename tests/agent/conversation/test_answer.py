"""With the default CPU LLM the spoken reply answers the question: its audio, transcribed, says so."""

from __future__ import annotations

import pytest

from agent.conversation import ConversationOptions
from inference_server.client import InferenceClient

pytestmark = pytest.mark.slow


async def test_the_spoken_reply_answers_the_question(room_factory, quality_url):
    room = await room_factory(ConversationOptions(), url=quality_url)
    await room.join("ann", "Ann")
    await room.say("ann", "Ann", "What is the capital of France?", speech_s=1.2)
    metrics = await room.wait_turn(timeout=120)
    assert metrics.outcome == "completed"

    async with InferenceClient(quality_url) as client:
        heard = await client.transcribe(room.output.wav(), filename="reply.wav")
    [final] = room.of_type("final")
    assert "paris" in heard.text.lower(), (heard.text, final.text)
    assert "paris" in final.text.lower()
