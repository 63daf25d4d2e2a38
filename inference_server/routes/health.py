"""Health (no auth), server info, the model list, Prometheus metrics."""

from __future__ import annotations

import importlib.metadata

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from parley import __version__

from ..deps import OPENAI_ALIASES, EngineDep, StateDep, require_token
from ..errors import APIProblem
from ..protocol import Health, Model, ModelInfo, ModelList, ServerInfo
from ..scheduler import Priority
from .responses import AUTH_ONLY, ERRORS

router = APIRouter()

_PACKAGES = ("faster-whisper", "ctranslate2", "llama-cpp-python", "piper-tts", "resemblyzer",
             "kaldi-native-fbank", "sentence-transformers", "onnxruntime", "torch")


@router.get("/health", response_model=Health, responses={503: {"model": Health, "description": "Loading or failed"}})
def health(state: StateDep) -> JSONResponse:
    if state.load_error:
        return JSONResponse(Health(status="error", detail=state.load_error).model_dump(), status_code=503)
    if state.engine is None:
        return JSONResponse(Health(status="loading").model_dump(), status_code=503)
    return JSONResponse(Health(status="ready").model_dump())


@router.get("/info", response_model=ServerInfo, dependencies=[Depends(require_token)], responses=AUTH_ONLY)
def info(state: StateDep) -> ServerInfo:
    models = []
    if state.engine is not None:
        models = [ModelInfo(capability=role, name=m.name, backend=m.backend, path=m.path, device=m.device)
                  for role, m in state.engine.models.roles()]
    versions = {"parley": __version__}
    for package in _PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    return ServerInfo(version=__version__, profile=state.settings.model_profile, device=state.device,
                      threads=state.threads, models=models, versions=versions)


@router.get("/v1/models", response_model=ModelList, dependencies=[Depends(require_token)],
            responses={401: ERRORS[401], 503: ERRORS[503]})
def models(engine: EngineDep) -> ModelList:
    """The loaded models that OpenAI routes serve, then the OpenAI names mapped to them."""
    return ModelList(data=[Model(id=name) for name in _model_names(engine)])


@router.get("/v1/models/{model_id}", response_model=Model, dependencies=[Depends(require_token)],
            responses={401: ERRORS[401], 404: ERRORS[404], 503: ERRORS[503]})
def model(model_id: str, engine: EngineDep) -> Model:
    if model_id not in _model_names(engine):
        raise APIProblem(404, f"unknown model '{model_id}'; GET /v1/models lists them", code="model_not_found")
    return Model(id=model_id)


def _model_names(engine) -> list[str]:
    capabilities = ("llm", "asr", "tts", "embeddings")
    loaded = [engine.models.serving(capability).name for capability in capabilities]
    return loaded + [alias for capability in capabilities for alias in sorted(OPENAI_ALIASES[capability])]


@router.get("/metrics", dependencies=[Depends(require_token)], response_class=Response,
            responses={**AUTH_ONLY, 200: {"description": "Prometheus text exposition format",
                                          "content": {"text/plain": {"schema": {"type": "string"}}}}})
def metrics(state: StateDep) -> Response:
    if state.engine is not None:
        depth = state.engine.scheduler.queue_depth()
        for priority in Priority:
            state.metrics.queue_depth.labels(priority=priority.name.lower()).set(depth[priority])
    return Response(state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
