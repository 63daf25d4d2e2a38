"""One error shape for every 4xx/5xx: {"error": {"message", "code"}}, with messages a person can act on,
and the handlers that turn every error the API raises (its own, auth, the store) into it."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from parley.store import Conflict, Forbidden, NotFound, StoreError, StoreUnavailable

from .auth.service import AuthFailed
from .schemas import NAME_HINT, ROOM_HINT

_STORE_STATUS = {NotFound: (404, "not_found"), Conflict: (409, "conflict"), Forbidden: (403, "forbidden"),
                 StoreUnavailable: (503, "store_unavailable")}
_HINTS = {"room": ROOM_HINT, "name": NAME_HINT}
_SHAPE_ERRORS = {"string_pattern_mismatch", "string_too_short", "string_too_long", "string_type"}


class APIProblem(Exception):
    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def error_response(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "code": code}}, status_code=status)


class HeaderProblem(APIProblem):
    """An APIProblem that also sets headers (Retry-After, WWW-Authenticate)."""

    def __init__(self, status: int, message: str, code: str, headers: dict[str, str]) -> None:
        super().__init__(status, message, code)
        self.headers = headers


def unauthorized(message: str, code: str = "unauthorized") -> HeaderProblem:
    return HeaderProblem(401, message, code, {"WWW-Authenticate": "Bearer"})


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

    @app.exception_handler(HeaderProblem)
    async def with_headers(_: Request, exc: HeaderProblem) -> JSONResponse:
        response = error_response(exc.status, exc.message, exc.code)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(AuthFailed)
    async def auth_failed(_: Request, exc: AuthFailed) -> JSONResponse:
        response = error_response(exc.status, exc.message, exc.code)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(StoreError)
    async def store_error(_: Request, exc: StoreError) -> JSONResponse:
        status, code = next((v for k, v in _STORE_STATUS.items() if isinstance(exc, k)), (500, "store_error"))
        response = error_response(status, str(exc), code)
        if status == 503:
            response.headers["Retry-After"] = "5"
        return response
