"""Memory across sessions with real models: a fact said in one session is extracted by the
quality LLM when the session ends, stored with its embedding, recalled as relevant context
for a question in a later session, and used in the reply."""

from __future__ import annotations

import asyncio
import uuid

from agent.conversation.context import HumanLine
from agent.conversation.prompts import PromptLibrary, ReplyPrompt
from agent.events import CaptionFinal, ParticipantInfo
from agent.memory import RoomMemory, parse_facts, parse_title_summary
from agent.segment_writer import SegmentWriter
from parley.store import SERVICE, Actor
from parley.store.sqlite import SqliteStore
from inference_server.client import InferenceClient

SESSION_ONE = [
    ("Ann", "Good morning everyone, let's get started."),
    ("Bob", "Sure. Quick personal news: my sister Clara moved to Lisbon last month."),
    ("Ann", "Oh nice. And we agreed the Atlas release ships on March 14."),
    ("Bob", "Yes, March 14 for Atlas. I'll write the release notes."),
]


def test_facts_and_titles_are_parsed_from_loose_llm_answers():
    assert parse_facts("Here are the facts:\n- Clara lives in Lisbon.\n* Atlas ships on March 14.\n2) ok\n- none") == [
        "Clara lives in Lisbon.", "Atlas ships on March 14."]
    assert parse_facts("- none") == []
    assert parse_title_summary("**Title:** Atlas release\nSummary: They set a date.\nIt is March 14.") == (
        "Atlas release", "They set a date.\nIt is March 14.")


async def test_a_fact_from_one_session_is_remembered_and_used_in_a_later_one(quality_url, tmp_path):
    store = SqliteStore(tmp_path / "parley.db")
    await store.open()
    client = InferenceClient(quality_url)
    owner = await store.create_user(f"ann-{uuid.uuid4().hex[:6]}@example.test", "Ann", "hash")
    room = (await store.create_room(Actor.for_user(owner.id), "weekly", "Weekly")).name
    memory = RoomMemory(store, client, room)
    extracted: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def after(session_id: str) -> None:
        await memory.after_session(session_id)
        extracted.set_result(session_id)

    # Session one: said aloud (fed as finals), kept, and mined for memories when it ends.
    writer = SegmentWriter(store, room, on_ended=after)
    people = {name: ParticipantInfo(id=f"p-{name}", name=name) for name in ("Ann", "Bob")}
    for info in people.values():
        writer.participant(info)
    for n, (name, text) in enumerate(SESSION_ONE):
        writer.final(CaptionFinal(caption_id=f"c{n}", participant_id=people[name].id, speaker=name, text=text,
                                  start=n * 5, end=n * 5 + 4, emotion="neutral", emotion_score=0.5))
    await writer.aclose()
    session_id = await asyncio.wait_for(extracted, 300)

    session = await store.get_session(SERVICE, session_id)
    assert session.title and session.summary
    stored = await store.list_memories(Actor.for_user(owner.id))
    assert any("lisbon" in m.text.lower() for m in stored), [m.text for m in stored]
    assert all(m.source_session_id == session_id for m in stored)

    # Session two: a question; the fact comes back as the most relevant memory...
    question = "Bob, remind me, which city does your sister Clara live in now?"
    recalled = await memory.recall(question, ["Ann"])
    assert recalled and "lisbon" in recalled[0].lower(), recalled

    # ...rides in the reply prompt's memories slot, and the reply uses it.
    prompt = ReplyPrompt(PromptLibrary(), assistant_name="Parley", room=room)
    messages = prompt.messages([HumanLine("p-Ann", "Ann", "Parley, " + question[5:], at=1.0)], ["Ann"],
                               memories=recalled)
    assert recalled[0] in messages[-1]["content"]
    reply = await client.chat(messages, max_tokens=60, temperature=0.0)
    assert "lisbon" in reply.lower(), reply

    await client.aclose()
    await store.close()
