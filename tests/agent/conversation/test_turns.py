"""The conversation engine against a real inference server, in real time: what the room sees and
hears with real models, and a real server going away. The engine's logic (barge-in, pauses,
dropped replies, follow-ups, notices) is in the virtual-time table (test_engine_table.py).
"""

from __future__ import annotations

import asyncio

import pytest

from agent.conversation import ConversationOptions, ReplyOptions
from agent.conversation.events import now
from bench.server import free_port

from .conftest import open_room, serve_on_port

pytestmark = pytest.mark.slow

SHORT = ConversationOptions(reply=ReplyOptions(max_sentences=2, max_tokens=60, temperature=0.2))


def assistant_events(room, since: float = 0.0) -> list[str]:
    kinds = []
    for at, event in room.published:
        if at >= since and getattr(event, "participant_id", "assistant") == "assistant":
            kinds.append(event.type)
    return kinds


async def test_a_finished_turn_gets_a_spoken_captioned_reply(room_factory):
    room = await room_factory(SHORT)
    await room.join("ann", "Ann")
    await room.say("ann", "Ann", "Hello! Can you tell me a fun fact about cats?", emotion="joy")
    metrics = await room.wait_turn()

    assert metrics.outcome == "completed"
    for stage in ("end_of_utterance_delay", "transcription_delay", "ttft", "ttfb", "e2e_latency"):
        assert getattr(metrics, stage) is not None and getattr(metrics, stage) >= 0, stage
    assert metrics.e2e_latency >= metrics.end_of_utterance_delay  # audio waits for the end of the turn
    assert metrics.reply_audio_s > 0.5 and len(room.output.audio()) / 24000 == pytest.approx(
        metrics.reply_audio_s, abs=0.05)

    kinds = assistant_events(room)
    assert kinds.index("assistant_state") < kinds.index("speaking") < kinds.index("interim") < kinds.index("final")
    states = [e.state for e in room.of_type("assistant_state")]
    assert states == ["thinking", "speaking", "listening"]
    [final] = room.of_type("final")
    assert final.speaker == "Parley" and final.text and final.text.count(".") + final.text.count("!") + \
        final.text.count("?") <= 3, "capped at two sentences"
    assert [e.text for e in room.of_type("interim")][-1] == final.text
    assert room.lines() == [("Ann", "Hello! Can you tell me a fun fact about cats?"), ("Parley", final.text)]
    assert not room.of_type("assistant_notice")


async def test_an_inference_server_restart_mid_reply_gives_a_notice_and_the_next_turn_works(
        model_settings, models):
    port = free_port()
    # A long reply: the small test LLM writes a short one faster than its first sentence is
    # spoken, so the server would go away after the reply was already complete.
    long_reply = ConversationOptions(reply=ReplyOptions(max_sentences=12, max_tokens=400, temperature=0.2))
    room, client = await open_room(f"http://127.0.0.1:{port}", long_reply)
    try:
        await room.join("ann", "Ann")
        with serve_on_port(model_settings, models, port) as server:
            await room.say("ann", "Ann", "Please describe the ocean in great detail.")
            await room.wait_for(lambda e: e.type == "speaking" and e.speaking, 60)
            await asyncio.to_thread(server.stop)  # goes away mid-reply, as a crash would
            metrics = await room.wait_turn()
        assert metrics.outcome == "failed"
        [notice] = room.of_type("assistant_notice")
        assert "Parley" in notice.message
        [line] = [x for x in room.conversation.context.lines if hasattr(x, "interrupted")]
        assert [e.text for e in room.of_type("final")] == ([line.text] if line.text else [])

        since = now()
        await room.say("ann", "Ann", "Are you there?")  # the server is down: a clear notice again
        down = await room.wait_turn(since=since)
        assert down.outcome == "failed" and len(room.of_type("assistant_notice")) == 2
        assert "couldn't answer" in room.of_type("assistant_notice")[-1].message

        with serve_on_port(model_settings, models, port):  # back, on the same address
            since = now()
            await room.say("ann", "Ann", "Hello again, can you hear me?")
            back = await room.wait_turn(since=since)
        assert back.outcome == "completed"
        assert [s for s, _ in room.lines()][-3:] == ["Ann", "Ann", "Parley"], "the missed question stays in context"
    finally:
        await room.conversation.aclose()
        await room.output.aclose()
        await client.aclose()
