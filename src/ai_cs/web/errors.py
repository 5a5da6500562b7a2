"""The one place where errors become HTTP responses: ``{"error": {"code", "message"}}``.

Domain errors carry their own status; request validation and routing errors get 4xx in the same
shape; nothing a client sends can produce a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ai_cs.errors import AicsError, AuthError

log = logging.getLogger(__name__)

DATABASE_RETRY_AFTER_SECONDS = 5

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
}


class ErrorBody(BaseModel):
    """``{"code", "message"}`` inside ``{"error": ...}``."""

    code: str
    message: str


class ErrorResponse(BaseModel):
    """Every error of the API."""

    error: ErrorBody


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: each status it may answer, in the public error shape."""
    return {status: {"model": ErrorResponse} for status in statuses}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON error in the public shape."""
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that map every error to the public shape."""

    @app.exception_handler(AicsError)
    async def _domain(_request: Request, exc: AicsError) -> JSONResponse:
        headers: dict[str, str] = {}
        if isinstance(exc, AuthError):
            headers["WWW-Authenticate"] = "Bearer"
        # Errors that say when to come back (rate limits) carry it as Retry-After.
        retry_after = exc.details.get("retry_after_seconds")
        if isinstance(retry_after, int) and not isinstance(retry_after, bool):
            headers["Retry-After"] = str(max(1, retry_after))
        return error_response(exc.http_status, exc.code, exc.message, headers or None)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database_down(_request: Request, exc: Exception) -> JSONResponse:
        # The database restarting or unreachable is not the client's fault and passes: 503
        # with Retry-After lets a load balancer or client try again.
        log.warning("database unavailable: %s", exc.__class__.__name__)
        return error_response(
            503,
            "database_unavailable",
            "the database is unavailable; try again shortly",
            {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
        return error_response(422, "invalid_request", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else code
        return error_response(exc.status_code, code, message, dict(exc.headers or {}) or None)
