"""Errors with a clear message for the client, in OpenAI's error shape."""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .protocol import APIError


class APIProblem(Exception):
    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.headers = headers


def error_response(status: int, message: str, type: str, code: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = APIError(error=APIError.Body(message=message, type=type, code=code))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _document_400_not_422(app) -> None:
    """FastAPI documents a 422 for every body; this server answers those with a 400 instead."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = generate()
            for path in schema["paths"].values():
                for operation in path.values():
                    operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
        return app.openapi_schema

    app.openapi = openapi


def install_error_handlers(app) -> None:
    _document_400_not_422(app)

    @app.exception_handler(APIProblem)
    async def _problem(_: Request, exc: APIProblem) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.type, exc.code, exc.headers)

    # OpenAI answers 400 to a body that does not validate (FastAPI's default is 422).
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'] if p != 'body') or 'body'}: {err['msg']}"
            for err in exc.errors()[:5])
        return error_response(400, f"invalid request: {problems}", "invalid_request_error", "invalid_body")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), "invalid_request_error",
                              headers=getattr(exc, "headers", None))


def unknown_model(requested: str, capability: str, available: list[str]) -> APIProblem:
    return APIProblem(404, f"unknown {capability} model '{requested}'; this server serves: "
                           f"{', '.join(available)}", code="model_not_found")
