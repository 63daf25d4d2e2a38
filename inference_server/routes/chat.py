"""OpenAI-compatible chat completions, streamed as server-sent events when asked."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from ..deps import EngineDep, check_model, identify_client, require_token
from ..disconnects import unless_disconnected
from ..errors import APIProblem
from ..protocol import (APIError, ChatChoice, ChatChunkChoice, ChatCompletion, ChatCompletionChunk,
                        ChatCompletionRequest, ChatDelta, ChatMessage, ChatPrefillRequest,
                        ChatPrefillResponse, RequestMessage, Usage)
from .responses import ERRORS, SSE_EVENT

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", dependencies=[Depends(require_token), Depends(identify_client)],
                   responses=ERRORS)

DEFAULT_MAX_TOKENS = 512
_SSE = {"description": "With `stream: true`: server-sent events, one `chat.completion.chunk` per `data:` line, "
                       "then `data: [DONE]`", "content": {"text/event-stream": SSE_EVENT}}


def _unsupported(param: str, what: str) -> APIProblem:
    return APIProblem(400, f"{param}: {what} is not supported by this server", code="unsupported_parameter")


def _messages(messages: list[RequestMessage]) -> list[dict[str, str]]:
    """Plain {"role", "content"} dicts: `developer` is the system role, text parts are joined."""
    out = []
    for i, message in enumerate(messages):
        if message.role == "tool" or message.tool_calls:
            raise _unsupported(f"messages[{i}]", "tool calling (tool messages, tool_calls)")
        content = message.content
        if isinstance(content, list):
            if any(part.type != "text" or part.text is None for part in content):
                raise _unsupported(f"messages[{i}].content", "a part other than text (images, audio, files)")
            content = "\n".join(part.text for part in content)
        out.append({"role": "system" if message.role == "developer" else message.role, "content": content or ""})
    return out


def _refuse_unsupported(body: ChatCompletionRequest) -> None:
    if body.n not in (None, 1):
        raise _unsupported("n", "more than one choice")
    if body.tools or body.functions or body.tool_choice not in (None, "none", "auto"):
        raise _unsupported("tools", "tool calling")
    if body.logprobs:
        raise _unsupported("logprobs", "returning log probabilities")
    if body.response_format and body.response_format.get("type") != "text":
        raise _unsupported("response_format", "structured (JSON) output")
    if body.audio or (body.modalities and set(body.modalities) - {"text"}):
        raise _unsupported("modalities", "audio output")


async def _fit(engine, messages: list[dict[str, str]], max_tokens: int | None) -> tuple[int, int]:
    """(prompt tokens counted with the chat template, max tokens to generate); a prompt that
    cannot fit the context is a clear 400, before anything is generated."""
    llm = engine.models.llm
    prompt_tokens = await asyncio.to_thread(llm.count_prompt_tokens, messages)
    room = llm.context_length - prompt_tokens
    if room < (max_tokens or 1):
        asked = f" plus max_tokens ({max_tokens})" if max_tokens else ""
        raise APIProblem(400, f"the prompt ({prompt_tokens} tokens){asked} exceeds the model's context of "
                              f"{llm.context_length} tokens", code="context_length_exceeded")
    return prompt_tokens, max_tokens or min(DEFAULT_MAX_TOKENS, room)


@router.post("/chat/prefill", response_model=ChatPrefillResponse)
async def chat_prefill(body: ChatPrefillRequest, engine: EngineDep, request: Request) -> ChatPrefillResponse:
    messages = _messages(body.messages)
    await _fit(engine, messages, 1)
    return ChatPrefillResponse(prompt_tokens=await unless_disconnected(request, engine.prefill(messages)))


@router.post("/chat/completions", response_model=ChatCompletion, responses={200: _SSE})
async def chat_completions(body: ChatCompletionRequest, engine: EngineDep, request: Request):
    name = check_model(engine, "llm", body.model)
    _refuse_unsupported(body)
    messages = _messages(body.messages)
    prompt_tokens, max_tokens = await _fit(engine, messages, body.max_completion_tokens or body.max_tokens)
    stop = [body.stop] if isinstance(body.stop, str) else (body.stop or [])
    temperature = 0.7 if body.temperature is None else body.temperature
    chunks = engine.chat(messages, max_tokens=max_tokens, temperature=temperature,
                         top_p=body.top_p or 0.95, stop=stop)
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())

    def usage(completion_tokens: int) -> Usage:
        return Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                     total_tokens=prompt_tokens + completion_tokens)

    if body.stream:
        include_usage = body.stream_options is not None and body.stream_options.include_usage

        def event(choices: list[ChatChunkChoice], completion_tokens: int | None = None) -> str:
            chunk = ChatCompletionChunk(id=completion_id, created=created, model=name, choices=choices,
                                        usage=usage(completion_tokens) if completion_tokens is not None else None)
            return f"data: {chunk.model_dump_json(exclude_none=True)}\n\n"

        async def events():
            yield event([ChatChunkChoice(delta=ChatDelta(role="assistant", content=""))])
            completion_tokens = 0
            try:
                async for chunk in chunks:
                    delta = ChatDelta(content=chunk.text) if chunk.text else ChatDelta()
                    completion_tokens = chunk.completion_tokens or completion_tokens
                    yield event([ChatChunkChoice(delta=delta, finish_reason=chunk.finish_reason)])
            except Exception as exc:  # noqa: BLE001 - the 200 is sent: the error goes in the stream, as OpenAI's does
                log.exception("chat stream %s failed after %d tokens", completion_id, completion_tokens)
                body = APIError(error=APIError.Body(message=f"the model failed mid-reply: {exc}",
                                                    type="server_error", code="model_failed"))
                yield f"data: {body.model_dump_json()}\n\n"
                return  # no [DONE]: the reply is not complete
            if include_usage:
                yield event([], completion_tokens)
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def answer() -> ChatCompletion:
        text, finish, completion_tokens = [], "stop", 0
        async for chunk in chunks:
            text.append(chunk.text)
            if chunk.finish_reason:
                finish, completion_tokens = chunk.finish_reason, chunk.completion_tokens
        message = ChatMessage(role="assistant", content="".join(text))
        return ChatCompletion(id=completion_id, created=created, model=name,
                              choices=[ChatChoice(message=message, finish_reason=finish)],
                              usage=usage(completion_tokens))

    return await unless_disconnected(request, answer())
