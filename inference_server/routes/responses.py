"""The error answers routes document in the OpenAPI schema: all in OpenAI's error shape."""

from __future__ import annotations

from typing import Any

from ..protocol import APIError


def _error(description: str) -> dict[str, Any]:
    return {"model": APIError, "description": description}


ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("Invalid request, or a parameter this server cannot honour"),
    401: _error("Missing or wrong bearer token (PARLEY_INFERENCE_TOKEN)"),
    404: _error("Unknown model name"),
    413: _error("Body, audio or text over a configured limit"),
    503: _error("Models still loading"),
}
AUTH_ONLY: dict[int | str, dict[str, Any]] = {401: ERRORS[401]}

# One server-sent event (as OpenAPI 3.2 describes event streams): its `data` line carries JSON.
SSE_EVENT = {"schema": {"type": "object", "properties": {"data": {"type": "string"}, "event": {"type": "string"}},
                        "required": ["data"]}}
