"""Health (no auth), server info, Prometheus metrics."""

from __future__ import annotations

import importlib.metadata

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from parley import __version__

from ..deps import StateDep, require_token
from ..protocol import Health, ModelInfo, ServerInfo
from ..scheduler import Priority

router = APIRouter()

_PACKAGES = ("faster-whisper", "ctranslate2", "llama-cpp-python", "piper-tts", "resemblyzer",
             "sentence-transformers", "onnxruntime", "torch")


@router.get("/health", response_model=Health)
def health(state: StateDep) -> JSONResponse:
    if state.load_error:
        return JSONResponse(Health(status="error", detail=state.load_error).model_dump(), status_code=503)
    if state.engine is None:
        return JSONResponse(Health(status="loading").model_dump(), status_code=503)
    return JSONResponse(Health(status="ready").model_dump())


@router.get("/info", response_model=ServerInfo, dependencies=[Depends(require_token)])
def info(state: StateDep) -> ServerInfo:
    models = []
    if state.engine is not None:
        models = [ModelInfo(capability=m.capability, name=m.name, backend=m.backend, path=m.path, device=m.device)
                  for m in state.engine.models.all()]
    versions = {"parley": __version__}
    for package in _PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    return ServerInfo(version=__version__, profile=state.settings.model_profile, device=state.device,
                      threads=state.threads, models=models, versions=versions)


@router.get("/metrics", dependencies=[Depends(require_token)])
def metrics(state: StateDep) -> Response:
    if state.engine is not None:
        depth = state.engine.scheduler.queue_depth()
        for priority in Priority:
            state.metrics.queue_depth.labels(priority=priority.name.lower()).set(depth[priority])
    return Response(state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
