"""Embeddings (OpenAI-compatible) and emotion classification, each bounded per request."""

from __future__ import annotations

import base64

import numpy as np
from fastapi import APIRouter, Depends, Request

from parley.settings import Settings

from ..deps import EngineDep, SettingsDep, check_model, identify_client, require_token
from ..disconnects import unless_disconnected
from ..errors import APIProblem
from ..protocol import (EmbeddingData, EmbeddingRequest, EmbeddingResponse, EmotionRequest,
                        EmotionResponse, EmotionResult)
from ..scheduler import BACKGROUND_BATCH
from .responses import ERRORS

router = APIRouter(prefix="/v1", dependencies=[Depends(require_token), Depends(identify_client)],
                   responses=ERRORS)


def check_texts(texts: list[str], settings: Settings, field: str) -> None:
    """Bound a request's cost before it is queued: items per request and characters per item."""
    if not texts:
        raise APIProblem(400, f"{field} must hold at least one string", code="invalid_input")
    if len(texts) > settings.max_items:
        raise APIProblem(400, f"{field} holds {len(texts)} items; at most {settings.max_items} per request "
                              "(PARLEY_MAX_ITEMS)", code="too_many_inputs")
    for i, text in enumerate(texts):
        if len(text) > settings.max_text_chars:
            raise APIProblem(400, f"{field}[{i}] has {len(text)} characters; at most {settings.max_text_chars} "
                                  "(PARLEY_MAX_TEXT_CHARS)", code="input_too_long")


@router.post("/embeddings", response_model=EmbeddingResponse)
async def embeddings(body: EmbeddingRequest, engine: EngineDep, settings: SettingsDep,
                     request: Request) -> EmbeddingResponse:
    name = check_model(engine, "embeddings", body.model)
    texts = [body.input] if isinstance(body.input, str) else body.input
    check_texts(texts, settings, "input")
    native = engine.models.embeddings.dim
    if body.dimensions is not None and body.dimensions != native:
        raise APIProblem(400, f"dimensions: this model's embeddings have {native} dimensions and cannot be "
                              "shortened", code="unsupported_dimensions")
    vectors = await unless_disconnected(request, _embed_in_small_jobs(engine, texts))
    tokens = sum(len(t.split()) for t in texts)
    return EmbeddingResponse(
        data=[EmbeddingData(index=i, embedding=_encode(v, body.encoding_format)) for i, v in enumerate(vectors)],
        model=name, usage={"prompt_tokens": tokens, "total_tokens": tokens})


async def _embed_in_small_jobs(engine, texts: list[str]) -> np.ndarray:
    """A few texts per device job, so live captions slip in between a long request's jobs."""
    parts = [await engine.embed_texts(texts[i:i + BACKGROUND_BATCH]) for i in range(0, len(texts), BACKGROUND_BATCH)]
    return np.concatenate(parts)


def _encode(vector: np.ndarray, encoding_format: str) -> list[float] | str:
    if encoding_format == "base64":  # what the openai client asks for by default
        return base64.b64encode(vector.astype("<f4").tobytes()).decode()
    return vector.tolist()


@router.post("/emotion", response_model=EmotionResponse)
async def emotion(body: EmotionRequest, engine: EngineDep, settings: SettingsDep,
                  request: Request) -> EmotionResponse:
    check_texts(body.texts, settings, "texts")
    results = await unless_disconnected(request, engine.emotions(body.texts))
    return EmotionResponse(results=[EmotionResult(label=label, score=round(float(score), 4))
                                    for label, score in results])
