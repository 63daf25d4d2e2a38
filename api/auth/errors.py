"""Account errors as HTTP answers, in api.errors' shape: {"error": {"message", "code"}}."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ..errors import APIProblem, error_response
from parley.store import Conflict, Forbidden, NotFound, StoreError, StoreUnavailable
from .service import AuthFailed

_STORE_STATUS = {NotFound: (404, "not_found"), Conflict: (409, "conflict"), Forbidden: (403, "forbidden"),
                 StoreUnavailable: (503, "store_unavailable")}


class HeaderProblem(APIProblem):
    """An APIProblem that also sets headers (Retry-After, WWW-Authenticate)."""

    def __init__(self, status: int, message: str, code: str, headers: dict[str, str]) -> None:
        super().__init__(status, message, code)
        self.headers = headers


def unauthorized(message: str, code: str = "unauthorized") -> HeaderProblem:
    return HeaderProblem(401, message, code, {"WWW-Authenticate": "Bearer"})


def install_account_error_handlers(app: FastAPI) -> None:
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
