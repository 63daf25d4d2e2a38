"""A real inference server (in this process) for the conversation engine's tests.

Plumbing tests use the run's shared server (`inference_url`, tests/conftest.py: the small test
LLM); `quality_url` there serves the quality LLM for tests where the answer itself is judged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from pydantic import BaseModel

from agent.conversation import ConversationOptions, RoomConversation
from agent.conversation.events import now
from inference_server.app import create_app
from inference_server.client import InferenceClient
from inference_server.loader import ModelSet
from parley.settings import Settings

from .harness import ASSISTANT, RecordingAudioOutput, ScriptedRoom

class _Server:
    def __init__(self, server: uvicorn.Server, thread: threading.Thread) -> None:
        self._server, self._thread = server, thread

    def stop(self) -> None:
        """Exit at once, cutting open streams (a crash, as far as clients can tell)."""
        self._server.should_exit = self._server.force_exit = True
        self._thread.join(timeout=10)


@contextmanager
def serve_on_port(settings: Settings, models: ModelSet, port: int) -> Iterator[_Server]:
    """An inference server on a chosen port, so a "restarted" one comes back at the same address."""
    app = create_app(settings.model_copy(update={"inference_port": port}), models=models)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("inference server did not start")
        time.sleep(0.05)
    handle = _Server(server, thread)
    try:
        yield handle
    finally:
        handle.stop()


async def open_room(url: str, options: ConversationOptions | None = None,
                    room: str = "test-room") -> tuple[ScriptedRoom, InferenceClient]:
    client = InferenceClient(url)
    published: list[tuple[float, BaseModel]] = []
    output = RecordingAudioOutput()
    holder: list[ScriptedRoom] = []

    async def publish(event: BaseModel) -> None:
        published.append((now(), event))
        holder[0].notify()

    conversation = RoomConversation(client, output, publish, room=room, assistant=ASSISTANT, options=options)
    holder.append(ScriptedRoom(conversation, published, output))
    return holder[0], client


@pytest.fixture
async def room_factory(inference_url: str) -> AsyncIterator:
    opened: list[tuple[ScriptedRoom, InferenceClient]] = []

    async def factory(options: ConversationOptions | None = None, url: str | None = None) -> ScriptedRoom:
        pair = await open_room(url or inference_url, options)
        opened.append(pair)
        return pair[0]

    yield factory
    for room, client in opened:
        await room.conversation.aclose()
        await room.output.aclose()
        await client.aclose()
