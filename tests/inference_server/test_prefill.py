"""Prefill with the real test LLM: evaluated in chunks that let a speaker's final through, and
kept for the reply that extends it."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from inference_server.engine import Engine
from inference_server.loader import ModelSet
from inference_server.scheduler import Priority, Scheduler
from tests.waiting import until

pytestmark = pytest.mark.slow


def long_conversation(room: str, turns: int = 60) -> list[dict[str, str]]:
    lines = [f"{'Ana' if i % 2 else 'Ben'}: item {i}, we still need to check the budget for the spring launch"
             for i in range(turns)]
    return [{"role": "system", "content": f"You are Parley, a terse assistant in the {room} meeting."},
            {"role": "user", "content": "\n".join(lines)}]


@pytest.fixture
async def engine(models: ModelSet):
    scheduler = Scheduler(device_lock=models.device_lock)
    scheduler.start()
    yield Engine(models, scheduler)
    scheduler.stop()


async def test_a_final_runs_between_chunks_of_a_long_prefill(engine: Engine, models: ModelSet, monkeypatch):
    llm = models.llm
    first_chunk_done = threading.Event()
    chunks = llm.prefill_chunks

    def observed(messages, **kwargs):
        for evaluated in chunks(messages, **kwargs):
            if evaluated:
                first_chunk_done.set()
            yield evaluated

    monkeypatch.setattr(llm, "prefill_chunks", observed)
    messages = long_conversation("launch")
    prompt_tokens = llm.count_prompt_tokens(messages)
    assert prompt_tokens > 1000
    prefill = asyncio.create_task(engine.prefill(messages))
    await asyncio.to_thread(first_chunk_done.wait, 60)
    final_decoded = await engine.scheduler.run(lambda: prefill.done(), priority=Priority.LIVE, model="asr")
    assert final_decoded is False, "the final waited for the whole prefill"
    assert await prefill == prompt_tokens


async def test_a_reply_extending_a_prefilled_prompt_starts_from_it(engine: Engine, models: ModelSet):
    messages = long_conversation("budget")
    started = time.perf_counter()
    assert await engine.prefill(messages) == models.llm.count_prompt_tokens(messages)
    cold_s = time.perf_counter() - started
    models.llm.prefill(long_conversation("other", 5))  # another room's prompt takes the context meanwhile
    reply = [*messages, {"role": "user", "content": "Parley, what is left to check?"}]
    started = time.perf_counter()
    async for _ in engine.chat(reply, max_tokens=1, temperature=0.0, top_p=1.0):
        break
    warm_s = time.perf_counter() - started  # the reply's first token
    assert warm_s < cold_s / 3, (warm_s, cold_s)


async def test_a_reply_ends_without_saving_the_context(engine: Engine, models: ModelSet, monkeypatch):
    """llama-cpp-python saved the whole context after a reply's last token, inside the job that
    ends the stream: the last sentence's speech waited 0.2-0.5 s for it. Prefills still save."""
    llama = models.llm._llama
    saves = []
    save_state = llama.save_state
    monkeypatch.setattr(llama, "save_state", lambda: saves.append("saved") or save_state())
    messages = long_conversation("retro", 3)
    await engine.prefill(messages)
    assert saves == ["saved"]
    reply = [*messages, {"role": "user", "content": "Parley, say hello."}]
    chunks = [chunk async for chunk in engine.chat(reply, max_tokens=8, temperature=0.0, top_p=1.0)]
    assert chunks[-1].finish_reason and "".join(c.text for c in chunks).strip()
    assert saves == ["saved"], "the reply saved the context after its last token"
    assert llama.cache is not None


async def test_a_prefill_makes_way_for_a_reply_and_saves_nothing(engine: Engine, models: ModelSet, monkeypatch):
    """A reply asked while a prefill runs (the agent prefills the reply's own prompt while it looks
    up memories) takes the LLM at the next chunk, and the prefill's state save (0.3-0.5 s on 2
    cores) is skipped: the reply evaluates the rest at its own priority."""
    llm = models.llm
    first_chunk_done, go = threading.Event(), threading.Event()
    chunks = llm.prefill_chunks
    saves = []
    save_state = llm._llama.save_state
    monkeypatch.setattr(llm._llama, "save_state", lambda: saves.append("saved") or save_state())

    def observed(messages, **kwargs):
        for evaluated in chunks(messages, **kwargs):
            if evaluated:
                first_chunk_done.set()
                go.wait(60)  # the next chunk waits until the reply is waiting
            yield evaluated

    monkeypatch.setattr(llm, "prefill_chunks", observed)
    messages = long_conversation("planning")
    prefill = asyncio.create_task(engine.prefill(messages))
    await asyncio.to_thread(first_chunk_done.wait, 60)
    reply = [*messages, {"role": "user", "content": "Parley, what is left to check?"}]
    answer = asyncio.create_task(_first_token(engine, reply))
    await until(lambda: engine.chats_waiting == 1)
    go.set()
    assert (await answer).text
    evaluated = await prefill
    assert 0 < evaluated < llm.count_prompt_tokens(messages), "the prefill went on while a reply waited"
    assert saves == []


async def _first_token(engine: Engine, messages):
    async for chunk in engine.chat(messages, max_tokens=4, temperature=0.0, top_p=1.0):
        if chunk.text:
            return chunk
