"""The API's FastAPI app: health, accounts, rooms and their signalling, and the page.

The rooms the signalling endpoint joins live in this process (it has to reach their peer
connections); what hosts them is a `RoomHost` the composition passes in (`parley.compose`
wires the embedded transport and its agents), so the API never imports the agent.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from inference_server.client import InferenceClient
from parley import __version__
from parley.body_limit import BodyLimit, limits_by_content_type
from parley.settings import Settings, process_settings
from parley.signalling import RoomHost
from parley.store import Store

from .accounts import account_services, include_account_routes
from .deps import current_principal
from .errors import install_error_handlers
from .routes import health, metrics, rooms
from .state import ApiState

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

RoomHostFactory = Callable[[Store], RoomHost]  # built once the store is open


def create_app(settings: Settings | None = None, *, room_host: RoomHostFactory) -> FastAPI:
    settings = settings or process_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        token = settings.inference_token.get_secret_value() if settings.inference_token else None
        client = InferenceClient(settings.effective_inference_url, token=token)
        try:
            # The store opens first and closes last: the rooms' agents write transcripts to it.
            async with account_services(settings, client, client) as accounts:  # the client embeds texts and voices
                host = room_host(accounts.store)
                app.state.parley = ApiState(settings=settings, accounts=accounts, rooms=host, inference=client)
                try:
                    yield
                finally:
                    await host.aclose()
        finally:
            await client.aclose()
    app = FastAPI(title="Parley", version=__version__, lifespan=lifespan,
                  description="Voice rooms with live captions: join over WebRTC, captions on the data channel.")
    # Outermost: a body over the limit is refused while it is read, before auth or parsing.
    app.add_middleware(BodyLimit, limit_for=limits_by_content_type(
        settings.max_enrollment_mb, "PARLEY_MAX_ENROLLMENT_MB", settings.max_json_mb))
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(metrics.router, dependencies=[Depends(current_principal)])
    app.include_router(rooms.router)
    include_account_routes(app)  # before the page's catch-all mount
    app.mount("/", StaticFiles(directory=WEB_DIR, html=True), name="web")
    return app
