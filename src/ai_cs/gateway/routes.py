"""Result links for customers: ``GET /r/{token}`` and ``GET /r/{token}/preview``.

No API key: the unguessable token is the credential, so every answer is careful — the file is
served with ``X-Content-Type-Options: nosniff``, SVG under a Content-Security-Policy that forbids
scripts and outside requests, nothing is cached by shared caches, and the token never leaks
through a ``Referer``. Unknown and malformed tokens get the same 404; expired links get 410.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from ai_cs.clock import Clock, SystemClock
from ai_cs.config import Settings, get_settings
from ai_cs.db.database import Database
from ai_cs.errors import AicsError
from ai_cs.gateway.delivery import (
    MEDIA_TYPES,
    extension_of,
    preview_file,
    resolve,
    result_path,
)

SVG_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'"
COMMON_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, max-age=300",
    "Referrer-Policy": "no-referrer",
}

router = APIRouter(tags=["results"])


def _state(request: Request) -> tuple[Database, Clock, Settings]:
    state = request.app.state
    settings: Settings = getattr(state, "settings", None) or get_settings()
    clock: Clock = getattr(state, "clock", None) or SystemClock(settings.tz)
    db: Database = state.db
    return db, clock, settings


def _error(exc: AicsError) -> JSONResponse:
    # Answered here rather than by the app's handlers so the router is safe in any app.
    return JSONResponse(
        {"error": {"code": exc.code, "message": exc.message}},
        status_code=exc.http_status,
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
    )


@router.get(
    "/r/{token}",
    summary="The result file of a delivered task",
    responses={404: {"description": "unknown link"}, 410: {"description": "expired link"}},
)
def get_result(token: str, request: Request) -> Response:
    """The result file behind a customer's link (PNG, JPEG, SVG, PDF, EPS, PSD or a ZIP)."""
    db, clock, settings = _state(request)
    try:
        with db.read() as session:
            delivery = resolve(session, clock, token)
            key, task_id = delivery.result_image, delivery.task_id
        path = result_path(settings, key)
    except AicsError as exc:
        return _error(exc)
    ext = extension_of(key)
    headers = dict(COMMON_HEADERS)
    if ext == "svg":
        headers["Content-Security-Policy"] = SVG_CSP
    disposition = "attachment" if ext in ("psd", "eps", "zip") else "inline"
    return FileResponse(
        path,
        media_type=MEDIA_TYPES.get(ext, "application/octet-stream"),
        filename=f"{task_id}.{ext}",
        content_disposition_type=disposition,
        headers=headers,
    )


@router.get(
    "/r/{token}/preview",
    summary="A watermarked preview of a raster result",
    responses={404: {"description": "unknown link or no preview"}},
)
def get_preview(token: str, request: Request) -> Response:
    """A watermarked PNG preview (raster results only)."""
    db, clock, settings = _state(request)
    try:
        with db.read() as session:
            key = resolve(session, clock, token).result_image
        path = preview_file(settings, key)
    except AicsError as exc:
        return _error(exc)
    return FileResponse(path, media_type="image/png", headers=dict(COMMON_HEADERS))
