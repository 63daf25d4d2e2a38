"""Embeddings (OpenAI-compatible) and emotion classification."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ..deps import EngineDep, check_model, require_token
from ..errors import APIProblem
from ..protocol import (EmbeddingData, EmbeddingRequest, EmbeddingResponse, EmotionRequest,
                        EmotionResponse, EmotionResult)

router = APIRouter(prefix="/v1", dependencies=[Depends(require_token)])

MAX_EMBED_INPUTS = 512


@router.post("/embeddings", response_model=EmbeddingResponse)
async def embeddings(body: EmbeddingRequest, engine: EngineDep) -> EmbeddingResponse:
    name = check_model(engine, "embeddings", body.model)
    texts = [body.input] if isinstance(body.input, str) else body.input
    if not texts or len(texts) > MAX_EMBED_INPUTS:
        raise APIProblem(400, f"input must hold 1 to {MAX_EMBED_INPUTS} strings", code="invalid_input")
    vectors = await engine.embed_texts(texts)
    tokens = sum(len(t.split()) for t in texts)
    return EmbeddingResponse(
        data=[EmbeddingData(index=i, embedding=v.tolist()) for i, v in enumerate(vectors)],
        model=name, usage={"prompt_tokens": tokens, "total_tokens": tokens})


@router.post("/emotion", response_model=EmotionResponse)
async def emotion(body: EmotionRequest, engine: EngineDep) -> EmotionResponse:
    results = await engine.emotions(body.texts)
    return EmotionResponse(results=[EmotionResult(label=label, score=round(float(score), 4))
                                    for label, score in results])
