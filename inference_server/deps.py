"""FastAPI dependencies: the server state, the loaded engine, service auth, model names."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from parley.settings import Settings

from .engine import Engine
from .errors import APIProblem, unknown_model
from .scheduler import current_client
from .state import ServerState

# OpenAI's model names, so unmodified OpenAI clients work against Parley: each names the
# loaded model of its capability (listed by GET /v1/models).
OPENAI_ALIASES = {
    "asr": {"whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"},
    "tts": {"tts-1", "tts-1-hd", "gpt-4o-mini-tts"},
    "embeddings": {"text-embedding-ada-002", "text-embedding-3-small", "text-embedding-3-large"},
    "llm": {"gpt-4o-mini", "gpt-4o", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-3.5-turbo"},
}


def get_state(request: Request) -> ServerState:
    return request.app.state.parley


StateDep = Annotated[ServerState, Depends(get_state)]


def get_settings(state: StateDep) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_engine(state: StateDep) -> Engine:
    if state.engine is None:
        detail = state.load_error or "models are still loading; retry when /health says ready"
        raise APIProblem(503, detail, type="server_error", code="not_ready", headers={"Retry-After": "5"})
    return state.engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def token_ok(settings: Settings, authorization: str | None) -> bool:
    """True when no token is configured, or the header carries it (constant-time compare)."""
    if settings.inference_token is None:
        return True
    expected = f"Bearer {settings.inference_token.get_secret_value()}"
    return authorization is not None and hmac.compare_digest(authorization.encode(), expected.encode())


def require_token(request: Request, settings: SettingsDep) -> None:
    if not token_ok(settings, request.headers.get("authorization")):
        raise APIProblem(401, "missing or invalid bearer token (set Authorization: Bearer $PARLEY_INFERENCE_TOKEN)",
                         type="authentication_error", code="invalid_token",
                         headers={"WWW-Authenticate": "Bearer"})


async def identify_client(request: Request) -> None:
    """The scheduler's fair share is per client address (async: it must set the request's context)."""
    current_client.set(f"http:{request.client.host if request.client else '?'}")


def check_model(engine: Engine, capability: str, requested: str | None) -> str:
    """The loaded model's name; a request naming another model gets a clear 404."""
    loaded = engine.models.serving(capability).name
    if requested in (None, "", loaded) or requested in OPENAI_ALIASES.get(capability, set()):
        return loaded
    raise unknown_model(requested, capability, [loaded, *sorted(OPENAI_ALIASES.get(capability, set()))])
