"""One error shape for every 4xx/5xx: {"error": {"message", "code"}}, with messages a person can act on."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from .schemas import NAME_HINT, ROOM_HINT

_HINTS = {"room": ROOM_HINT, "name": NAME_HINT}
_SHAPE_ERRORS = {"string_pattern_mismatch", "string_too_short", "string_too_long", "string_type"}


class APIProblem(Exception):
    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def error_response(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "code": code}}, status_code=status)


def _describe(error: dict) -> str:
    location = [str(part) for part in error["loc"] if part not in ("body", "path", "query")]
    field = location[-1] if location else "body"
    if error["type"] == "missing":
        return f"{field} is required"
    if error["type"] == "json_invalid" or field == "body":
        return "the body must be a JSON object with the fields listed at /docs"
    if field in _HINTS and error["type"] in _SHAPE_ERRORS:
        return f"{field}: {_HINTS[field]}"
    return f"{field}: {error['msg'].removeprefix('Value error, ')}"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIProblem)
    async def problem(_: Request, exc: APIProblem) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.code)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "; ".join(dict.fromkeys(_describe(e) for e in exc.errors())), "invalid_request")

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), "http_error")
