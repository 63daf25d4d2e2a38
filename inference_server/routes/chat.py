"""OpenAI-compatible chat completions, streamed as server-sent events when asked."""

from __future__ import annotations

import time
import uuid

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from ..deps import EngineDep, check_model, require_token
from ..errors import APIProblem
from ..protocol import (ChatChoice, ChatChunkChoice, ChatCompletion, ChatCompletionChunk,
                        ChatCompletionRequest, ChatDelta, ChatMessage, ChatPrefillRequest,
                        ChatPrefillResponse, Usage)

router = APIRouter(prefix="/v1", dependencies=[Depends(require_token)])

DEFAULT_MAX_TOKENS = 512


def _fit(engine, messages: list[dict[str, str]], max_tokens: int) -> int:
    """Estimated prompt tokens; a prompt that cannot fit the context is a clear 400."""
    llm = engine.models.llm
    prompt_tokens = sum(llm.count_tokens(m["content"]) + 4 for m in messages)
    if prompt_tokens + max_tokens > llm.context_length:
        raise APIProblem(400, f"the prompt ({prompt_tokens} tokens) plus max_tokens ({max_tokens}) exceeds the "
                              f"model's context of {llm.context_length} tokens", code="context_length_exceeded")
    return prompt_tokens


@router.post("/chat/prefill", response_model=ChatPrefillResponse)
async def chat_prefill(body: ChatPrefillRequest, engine: EngineDep) -> ChatPrefillResponse:
    messages = [m.model_dump() for m in body.messages]
    _fit(engine, messages, 1)
    return ChatPrefillResponse(prompt_tokens=await engine.prefill(messages))


@router.post("/chat/completions", response_model=ChatCompletion)
async def chat_completions(body: ChatCompletionRequest, engine: EngineDep):
    name = check_model(engine, "llm", body.model)
    messages = [m.model_dump() for m in body.messages]
    max_tokens = body.max_tokens or DEFAULT_MAX_TOKENS
    prompt_tokens = _fit(engine, messages, max_tokens)
    stop = [body.stop] if isinstance(body.stop, str) else (body.stop or [])
    chunks = engine.chat(messages, max_tokens=max_tokens, temperature=body.temperature, top_p=body.top_p,
                         stop=stop)
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())

    if body.stream:
        async def events():
            first = ChatCompletionChunk(id=completion_id, created=created, model=name,
                                        choices=[ChatChunkChoice(delta=ChatDelta(role="assistant", content=""))])
            yield f"data: {first.model_dump_json(exclude_none=True)}\n\n"
            async for chunk in chunks:
                delta = ChatDelta(content=chunk.text) if chunk.text else ChatDelta()
                event = ChatCompletionChunk(id=completion_id, created=created, model=name, choices=[
                    ChatChunkChoice(delta=delta, finish_reason=chunk.finish_reason)])
                yield f"data: {event.model_dump_json(exclude_none=True)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    text, finish, completion_tokens = [], "stop", 0
    async for chunk in chunks:
        text.append(chunk.text)
        if chunk.finish_reason:
            finish, completion_tokens = chunk.finish_reason, chunk.completion_tokens
    return ChatCompletion(
        id=completion_id, created=created, model=name,
        choices=[ChatChoice(message=ChatMessage(role="assistant", content="".join(text)), finish_reason=finish)],
        usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                    total_tokens=prompt_tokens + completion_tokens))
