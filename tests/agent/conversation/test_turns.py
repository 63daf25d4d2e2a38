"""The conversation engine against a real inference server: events in, what the room sees and hears out.

Speech is scripted at the event level (what a transcription stream sends, in real time);
the LLM, TTS and ASR used to check the reply audio are real.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest

from agent.conversation import ConversationOptions, ReplyOptions, UserStartedSpeaking, UserTranscript
from agent.conversation.prompts import PromptLibrary, ReplyPrompt
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


async def test_a_pause_mid_sentence_gets_no_reply(room_factory):
    room = await room_factory(replace(SHORT, prefill_interims=True))  # interims in the cache as they come
    await room.join("ann", "Ann")
    # A pause the VAD sees (0.7 s) that ends in a trailing word, then one after a full stop (0.6 s):
    await room.say("ann", "Ann", "So I was thinking that", then_resume_after_s=0.7)
    await room.say("ann", "Ann", "we could meet on Friday.", then_resume_after_s=0.6)
    resumed = time.monotonic()
    await room.say("ann", "Ann", "What time suits you?")
    metrics = await room.wait_turn()

    assert metrics.outcome == "completed" and room.output.frames[0][0] > resumed, "nothing played before the end"
    assert len(room.of_type("turn_metrics")) == 1
    assert [speaker for speaker, _ in room.lines()] == ["Ann", "Ann", "Ann", "Parley"]


async def test_filler_and_noise_get_no_reply(room_factory):
    room = await room_factory(SHORT)
    await room.join("ann", "Ann")
    for text in ["Um.", "Hmm...", "[coughing]", None]:  # None: speech started and ended, no final (noise)
        await room.say("ann", "Ann", text, speech_s=0.3)
    await asyncio.sleep(2.5)  # longer than the engine waits for a missing final
    assert room.published == [] and room.output.frames == []
    assert room.conversation.context.lines == []


async def test_barge_in_stops_the_audio_and_keeps_only_the_words_heard(room_factory):
    room = await room_factory(ConversationOptions(reply=ReplyOptions(max_sentences=4, temperature=0.2)))
    await room.join("ann", "Ann")
    await room.say("ann", "Ann", "Tell me a long story about a dragon who lives in a castle.")
    output = room.output
    await room.wait_for(lambda e: e.type == "speaking" and e.speaking, 60)
    await output.wait_played(int(1.5 * 24000))

    onset = time.monotonic()
    await room.conversation.push(UserStartedSpeaking("ann", onset))
    await asyncio.sleep(0.5)
    assert output.last_frame_at() - onset < 0.3, "audio stopped within 300 ms of speech onset"
    assert output.last_frame_at() - onset < 0.05, "in the engine it is one frame at most"
    await room.conversation.push(UserTranscript("ann", "Ann", "Wait, stop", False, time.monotonic()))
    metrics = await room.wait_turn(since=onset)
    assert metrics.outcome == "interrupted"

    [line] = [x for x in room.conversation.context.lines if hasattr(x, "interrupted")]
    [final] = room.of_type("final")
    assert line.interrupted and line.text and final.text == line.text
    heard_s = len(output.audio()) / 24000
    assert 1.4 <= heard_s <= 1.8 and metrics.reply_audio_s == pytest.approx(heard_s, abs=0.05)
    assert len(line.text.split()) <= 3.5 * heard_s + 4, "only about the words that fit in the audio heard"
    replies = [e.text for e in room.of_type("interim")]
    assert len(" ".join(replies[-1:]).split()) >= len(line.text.split())

    # The interruption is answered next, and the cut-off reply sits in the prompt as such, not repeated.
    await room.say("ann", "Ann", "Wait, stop. Make it a short one instead.", speech_s=0.2)
    second = await room.wait_turn(since=time.monotonic())
    assert second.outcome in ("completed", "interrupted")
    lines = room.lines()
    assert lines[1] == ("Parley (interrupted)", line.text) and lines[2][0] == "Ann" and lines[3][0] == "Parley"
    prompt = ReplyPrompt(PromptLibrary(), assistant_name="Parley", room="test-room")
    messages = prompt.messages(room.conversation.context.lines[:3], ["Ann"])
    assert [m["role"] for m in messages] == ["system", "user"]
    assert f'(Parley began to answer, "{line.text}", and was cut off there.)' in messages[1]["content"]


async def test_a_cough_or_a_click_over_the_reply_pauses_it_and_it_resumes(room_factory):
    room = await room_factory(ConversationOptions(reply=ReplyOptions(max_sentences=4, temperature=0.2)))
    await room.join("ann", "Ann")
    await room.say("ann", "Ann", "Tell me about the moon and the stars.")
    await room.wait_for(lambda e: e.type == "speaking" and e.speaking, 60)
    await room.output.wait_played(int(0.5 * 24000))
    cough = time.monotonic()
    await room.say("ann", "Ann", "[coughs]", speech_s=0.2)  # a final without words: resumes at once
    await asyncio.sleep(0.3)
    assert any(at > cough + 0.5 for at, _ in room.output.frames), "it went on after the cough"
    click = time.monotonic()
    await room.say("ann", "Ann", None, speech_s=0.1)  # no final at all: resumes when none can come any more
    metrics = await room.wait_turn()
    assert metrics.outcome == "completed"
    silent = [at for at, _ in room.output.frames if at > click]
    assert silent and silent[0] - click >= 2.0, "paused until the final could no longer come"
    assert [speaker for speaker, _ in room.lines()] == ["Ann", "Parley"]


async def test_with_several_humans_only_turns_for_the_assistant_get_replies(room_factory):
    room = await room_factory(SHORT)
    await room.join("ann", "Ann")
    await room.join("bob", "Bob")
    await room.say("ann", "Ann", "I think it will rain tomorrow.")
    await room.say("bob", "Bob", "Did you bring an umbrella?")
    await asyncio.sleep(1.0)
    assert room.of_type("turn_metrics") == [], "people talking to each other"

    await room.say("ann", "Ann", "Parley, what should I wear in the rain?")
    first = await room.wait_turn()
    assert first.outcome == "completed"
    asked = time.monotonic()
    await room.say("bob", "Bob", "And what about in the snow?")
    second = await room.wait_turn(since=asked)
    assert second.outcome == "completed", "a follow-up question to the assistant"
    assert [speaker for speaker, _ in room.lines()] == ["Ann", "Bob", "Ann", "Parley", "Bob", "Parley"]


async def test_an_inference_server_restart_mid_reply_gives_a_notice_and_the_next_turn_works(
        model_settings, conversation_models):
    port = free_port()
    # A long reply: the small test LLM writes a short one faster than its first sentence is
    # spoken, so the server would go away after the reply was already complete.
    long_reply = ConversationOptions(reply=ReplyOptions(max_sentences=12, max_tokens=400, temperature=0.2))
    room, client = await open_room(f"http://127.0.0.1:{port}", long_reply)
    try:
        await room.join("ann", "Ann")
        with serve_on_port(model_settings, conversation_models, port) as server:
            await room.say("ann", "Ann", "Please describe the ocean in great detail.")
            await room.wait_for(lambda e: e.type == "speaking" and e.speaking, 60)
            await asyncio.to_thread(server.stop)  # goes away mid-reply, as a crash would
            metrics = await room.wait_turn()
        assert metrics.outcome == "failed"
        [notice] = room.of_type("assistant_notice")
        assert "Parley" in notice.message
        [line] = [x for x in room.conversation.context.lines if hasattr(x, "interrupted")]
        assert [e.text for e in room.of_type("final")] == ([line.text] if line.text else [])

        since = time.monotonic()
        await room.say("ann", "Ann", "Are you there?")  # the server is down: a clear notice again
        down = await room.wait_turn(since=since)
        assert down.outcome == "failed" and len(room.of_type("assistant_notice")) == 2
        assert "couldn't answer" in room.of_type("assistant_notice")[-1].message

        with serve_on_port(model_settings, conversation_models, port):  # back, on the same address
            since = time.monotonic()
            await room.say("ann", "Ann", "Hello again, can you hear me?")
            back = await room.wait_turn(since=since)
        assert back.outcome == "completed"
        assert [s for s, _ in room.lines()][-3:] == ["Ann", "Ann", "Parley"], "the missed question stays in context"
    finally:
        await room.conversation.aclose()
        await room.output.aclose()
        await client.aclose()


async def test_memories_are_recalled_for_the_reply_and_a_failing_recall_costs_nothing(inference_url):
    asked: list[tuple[str, list[str]]] = []

    async def recall(latest: str, speakers: list[str]) -> list[str]:
        asked.append((latest, speakers))
        if len(asked) > 1:
            raise RuntimeError("the memory store is down")
        return ["Ann's dog is called Rex."]

    room, client = await open_room(inference_url, SHORT, recall=recall)
    try:
        await room.join("ann", "Ann")
        await room.say("ann", "Ann", "What is my dog called?")
        assert (await room.wait_turn()).outcome == "completed"
        since = time.monotonic()
        await room.say("ann", "Ann", "And how old is he?")
        assert (await room.wait_turn(since=since)).outcome == "completed"
        assert asked == [("What is my dog called?", ["Ann"]), ("And how old is he?", ["Ann"])]
        assert not room.of_type("assistant_notice")
    finally:
        await room.conversation.aclose()
        await room.output.aclose()
        await client.aclose()
