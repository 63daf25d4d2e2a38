"""The inference server's FastAPI app: models load once in the background at start-up."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from parley import __version__
from parley.body_limit import BodyLimit, limits_by_content_type
from parley.settings import Settings, process_settings

from .catalog import ModelError
from .engine import Engine
from .errors import install_error_handlers
from .loader import ModelSet, load_models
from .routes import audio, chat, health, stream, text
from .scheduler import Scheduler
from .state import ServerState

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, models: ModelSet | None = None) -> FastAPI:
    """`models` lets tests share one loaded model set between several app instances."""
    settings = settings or process_settings()
    state = ServerState(settings=settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        scheduler = Scheduler(metrics=state.metrics, device_lock=models.device_lock if models else None)
        scheduler.start()
        if models is not None:  # already loaded (tests, `parley up` sharing one set)
            state.engine = Engine(models, scheduler)
            state.device, state.threads = models.asr.device, state.settings.threads or 1
        loading = asyncio.create_task(_load(state, scheduler)) if models is None else None
        registrar = _registrar(state)
        try:
            yield
        finally:
            if registrar is not None:
                await registrar.aclose()
            if loading is not None:
                loading.cancel()
            scheduler.stop()
            if models is None and state.engine is not None:
                state.engine.models.close()  # ours to free; a shared set belongs to the caller

    app = FastAPI(title="Parley inference server", version=__version__, lifespan=lifespan,
                  description="Every model loaded once: streaming ASR with speakers and emotion, "
                              "OpenAI-compatible transcription, chat, speech and embeddings.")
    app.state.parley = state
    app.add_middleware(BodyLimit, limit_for=limits_by_content_type(
        settings.max_upload_mb, "PARLEY_MAX_UPLOAD_MB", settings.max_json_mb))
    install_error_handlers(app)
    for module in (health, stream, audio, chat, text):
        app.include_router(module.router)
    return app


def _registrar(state: ServerState):
    """With Redis configured, advertise this server and its load to agents (scale-out)."""
    settings = state.settings
    if settings.redis_url is None:
        return None
    from .registry import InferenceRegistrar, default_public_url

    url = settings.inference_public_url or default_public_url(settings.inference_port)
    registrar = InferenceRegistrar.for_server(state, settings.redis_url.get_secret_value(), url)
    registrar.start()
    return registrar


async def _load(state: ServerState, scheduler: Scheduler) -> None:
    try:
        models, state.device, state.threads = await asyncio.to_thread(load_models, state.settings)
        state.engine = Engine(models, scheduler)
        log.info("inference server ready: %s", ", ".join(m.name for m in models.all()))
    except ModelError as exc:
        state.load_error = str(exc)
        log.error("%s", exc)
    except Exception as exc:  # noqa: BLE001 - reported on /health instead of crashing silently
        state.load_error = f"model loading failed: {type(exc).__name__}: {exc}"
        log.exception("model loading failed")
