"""`/v1/stream`: live transcription over WebSocket (see protocol.py for the messages)."""

from __future__ import annotations

import json
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from ..deps import token_ok
from ..scheduler import current_client
from ..protocol import (CLOSE_INVALID, CLOSE_NORMAL, CLOSE_POLICY, CLOSE_TOO_LONG, CLOSE_UNSUPPORTED,
                        SAMPLE_RATE, ErrorEvent, StreamConfig, StreamEnd, StreamEvent, StreamFlush,
                        stream_control_adapter)
from ..streaming import StreamTooLong, TranscriptionStream

log = logging.getLogger(__name__)
router = APIRouter()

CLOSE_TRY_LATER = 1013
MAX_CONTROL_CHARS = 4096  # the largest real control message (config) is ~150 characters


class _Refused(Exception):
    def __init__(self, code: str, message: str, close_code: int) -> None:
        super().__init__(message)
        self.code, self.message, self.close_code = code, message, close_code


@router.websocket("/v1/stream")
async def stream(ws: WebSocket) -> None:
    state = ws.app.state.parley
    await ws.accept()
    # Browsers cannot set headers on a WebSocket, so `?token=` is accepted too.
    query_token = ws.query_params.get("token")
    header = ws.headers.get("authorization") or (f"Bearer {query_token}" if query_token else None)
    if not token_ok(state.settings, header):
        await _refuse(ws, _Refused("unauthorized", "missing or invalid bearer token", CLOSE_POLICY))
        return
    if state.engine is None:
        await _refuse(ws, _Refused("not_ready", "models are still loading; retry shortly", CLOSE_TRY_LATER))
        return

    async def emit(event: StreamEvent) -> None:
        try:
            await ws.send_text(event.model_dump_json())
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass  # the client left; its stream is being torn down

    state.metrics.streams.inc()
    current_client.set(f"stream:{id(ws):x}")  # each live stream has its own fair share
    try:
        await _run(ws, state, emit)
    except _Refused as refusal:
        await _refuse(ws, refusal)
    except WebSocketDisconnect:
        log.info("client disconnected from a stream")
    finally:
        state.metrics.streams.dec()


async def _run(ws: WebSocket, state, emit) -> None:
    config = StreamConfig()
    stream: TranscriptionStream | None = None
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            if message.get("bytes") is not None:
                if stream is None:
                    stream = await _open(state, config, emit)
                try:
                    await stream.feed(message["bytes"])
                except ValueError as exc:
                    await stream.finish()
                    raise _Refused("invalid_audio", str(exc), CLOSE_UNSUPPORTED) from None
                except StreamTooLong as exc:
                    await stream.finish()
                    raise _Refused("stream_too_long", str(exc), CLOSE_TOO_LONG) from None
                continue
            control = _parse_control(message.get("text") or "")
            if isinstance(control, StreamConfig):
                if stream is not None:
                    await stream.finish()
                    raise _Refused("invalid_message", "config must come before any audio", CLOSE_INVALID)
                _check_config(control)
                config = control
            elif stream is None:
                stream = await _open(state, config, emit)
            if isinstance(control, StreamFlush):
                await stream.flush()
            elif isinstance(control, StreamEnd):
                await stream.finish()
                try:
                    await ws.close(CLOSE_NORMAL)
                except (WebSocketDisconnect, RuntimeError, OSError):
                    pass  # the client already left after `end`
                return
    except _Refused:
        if stream is not None:
            await stream.finish()  # keep what was already said
        raise
    except WebSocketDisconnect:
        if stream is not None:
            await stream.close()
        raise


async def _open(state, config: StreamConfig, emit) -> TranscriptionStream:
    stream = TranscriptionStream(state.engine, state.settings, config, emit)
    await stream.start()
    return stream


def _parse_control(text: str):
    if len(text) > MAX_CONTROL_CHARS:
        raise _Refused("invalid_message", f"control message longer than {MAX_CONTROL_CHARS} characters",
                       CLOSE_INVALID)
    try:
        return stream_control_adapter.validate_python(json.loads(text))
    except RecursionError:  # deeply nested JSON
        raise _Refused("invalid_message", "malformed control message (nested too deeply); expected JSON "
                       "with type config, flush or end", CLOSE_INVALID) from None
    except (json.JSONDecodeError, ValidationError) as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else exc.errors()[0]["msg"]
        raise _Refused("invalid_message", f"malformed control message ({detail}); expected JSON with "
                       "type config, flush or end", CLOSE_INVALID) from None


def _check_config(config: StreamConfig) -> None:
    if config.sample_rate != SAMPLE_RATE or config.channels != 1:
        raise _Refused("unsupported_format", f"audio must be {SAMPLE_RATE} Hz mono PCM16 (got "
                       f"{config.sample_rate} Hz, {config.channels} channels)", CLOSE_UNSUPPORTED)


async def _refuse(ws: WebSocket, refusal: _Refused) -> None:
    try:
        await ws.send_text(ErrorEvent(code=refusal.code, message=refusal.message).model_dump_json())
        await ws.close(refusal.close_code, reason=refusal.message[:120])
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
