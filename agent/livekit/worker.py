"""`parley agent --livekit`: a livekit-agents worker that LiveKit dispatches to rooms.

Each room's job runs the same agent as the embedded transport (`agent_factory`, RoomAgent
by default) over a `LiveKitRoom` transport; the only code that talks to the LiveKit server
is `RtcRoomConnection`, the seam. Jobs run as threads of one worker process: a process
per room would hold its own copy of livekit-agents (~75 MB of imports) and Python; threads
share it, and a room adds a few MB (tests/agent/livekit/test_worker_memory.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from livekit.agents import AgentServer, AutoSubscribe, JobContext, JobExecutorType

from parley.settings import Settings
from parley.store import create_store

from ..background import BackgroundWork
from ..inference_pool import InferencePool
from ..room_session import room_sessions
from ..transports.base import RoomAgentHandle
from ..transports.livekit import LiveKitRoom
from ..transports.livekit_connection import RtcRoomConnection

log = logging.getLogger(__name__)


AgentFactory = Callable[[LiveKitRoom, InferencePool], RoomAgentHandle]


async def run_room(ctx: JobContext, settings: Settings, agent_factory: AgentFactory | None = None) -> None:
    """One room, from dispatch until the agent is disconnected.

    By default the agent is a RoomSession, as in embedded rooms: transcripts go to the store
    (PARLEY_DATABASE_URL), memories are recalled and extracted. The store and the background
    work are per job: each job thread has its own event loop, and connections belong to one loop.
    """
    await ctx.connect(auto_subscribe=AutoSubscribe.AUDIO_ONLY)
    transport = LiveKitRoom(ctx.room.name, RtcRoomConnection(ctx.room), assistant_name=settings.assistant_name)
    inference = InferencePool.from_settings(settings)
    store, background = None, BackgroundWork()
    if agent_factory is None:
        store = create_store(settings)
        await store.open()
        build = room_sessions(settings, store, inference, background)
        agent_factory = lambda room, _: build(room)  # noqa: E731
    agent = agent_factory(transport, inference)
    log.info("room %s: agent joined as %s", ctx.room.name, transport.assistant.id)
    try:
        await transport.run()
    finally:
        await agent.aclose()  # flushes the transcript before the store closes
        await transport.aclose()
        if store is not None:
            await background.drain(settings.after_session_timeout_s)  # the title and memories, then
            await store.close()
        await inference.aclose()


def build_server(settings: Settings, agent_factory: AgentFactory | None = None, *, port: int = 8081) -> AgentServer:
    """The worker; `port` serves livekit-agents' health check (GET /) for orchestrators."""
    if not settings.livekit_enabled:
        raise ValueError("the LiveKit worker needs PARLEY_LIVEKIT_URL, PARLEY_LIVEKIT_API_KEY and "
                         "PARLEY_LIVEKIT_API_SECRET")
    server = AgentServer(job_executor_type=JobExecutorType.THREAD, ws_url=settings.livekit_url,
                         api_key=settings.livekit_api_key,
                         api_secret=settings.livekit_api_secret.get_secret_value(), port=port)

    async def entrypoint(ctx: JobContext) -> None:
        await run_room(ctx, settings, agent_factory)

    server.rtc_session(entrypoint)  # no agent name: LiveKit dispatches the worker to every new room
    return server


def serve(settings: Settings) -> None:
    """Run the worker until interrupted (what `parley agent --livekit` calls)."""
    asyncio.run(build_server(settings).run())
