"""Request body limits enforced while the body is read (sized and chunked bodies alike).

A pure ASGI middleware, outermost in both the API and the inference server: a declared
`Content-Length` over the limit is refused before a byte is read; a chunked body is counted
as it arrives and refused as soon as it crosses the limit, so no more than ~limit bytes are
ever read, spooled or parsed, and nothing else (auth, validation) runs on a refused body.
The 413 is in OpenAI's error shape ({"error": {"message", "type", "code"}}).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# (the request's content type) -> (limit in bytes, what the 413 tells the user about it)
LimitFor = Callable[[str], tuple[int, str]]

MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around an upload of the allowed size


class _TooLarge(Exception):
    pass


def limits_by_content_type(upload_mb: float, upload_setting: str, json_mb: float,
                           json_setting: str = "PARLEY_MAX_JSON_MB") -> LimitFor:
    """Multipart uploads may be up to `upload_mb`; every other body (JSON) up to `json_mb`."""
    upload = (int(upload_mb * 2**20) + MULTIPART_OVERHEAD, f"{upload_mb:g} MB ({upload_setting})")
    other = (int(json_mb * 2**20), f"{json_mb:g} MB ({json_setting})")

    def limit_for(content_type: str) -> tuple[int, str]:
        return upload if content_type.startswith("multipart/form-data") else other

    return limit_for


def _too_large_body(described_limit: str) -> bytes:
    message = f"request body larger than {described_limit}"
    return json.dumps({"error": {"message": message, "type": "invalid_request_error",
                                 "code": "request_too_large"}}).encode()


class BodyLimit:
    def __init__(self, app: ASGIApp, limit_for: LimitFor) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        limit, described = self.limit_for(headers.get(b"content-type", b"").decode("latin-1").lower())
        declared = headers.get(b"content-length", b"").decode("latin-1")
        if declared.isdigit() and int(declared) > limit:
            await _send_413(send, described)
            return

        received = 0
        exceeded = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise _TooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:  # the app turned our refusal into its own error: answer 413 instead
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except _TooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await _send_413(send, described)


async def _send_413(send: Send, described_limit: str) -> None:
    body = _too_large_body(described_limit)
    # The unread rest of the body is never read: the connection is closed after the answer.
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
