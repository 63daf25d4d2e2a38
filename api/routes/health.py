"""Liveness, plus whether live captions can work right now (the inference server's state)."""

from __future__ import annotations

from fastapi import APIRouter

from parley import __version__

from ..deps import StateDep
from ..schemas import HealthResponse

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse)
async def health(state: StateDep) -> HealthResponse:
    inference, detail = await state.inference_status()
    return HealthResponse(version=__version__, inference=inference, inference_detail=detail)
