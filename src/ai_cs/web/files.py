"""Serving stored pictures (originals and results) without trusting the stored reference.

``original_image``, ``result_image`` and the stored copy of the original hold a storage key
(:mod:`ai_cs.datafiles`: ``images/…`` or ``results/…``) or an http(s) URL. Only keyed files are
served — a reference naming any other file, even one inside the data directory such as the
database, is "not stored here", never a path traversal.
Files go out with ``nosniff`` and a Content-Security-Policy that forbids scripts, so an SVG
with a ``<script>`` in it cannot run in the viewer's browser.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any, Final
from urllib.parse import urlsplit

from fastapi.responses import FileResponse, RedirectResponse, Response

from ai_cs import datafiles
from ai_cs.errors import NotFound

FILE_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
"""No scripts, no outside requests; ``sandbox`` also denies forms and plugins when opened."""

INLINE_TYPES: Final = frozenset(
    {"image/png", "image/jpeg", "image/webp", "image/gif", "image/svg+xml", "image/bmp"}
)
"""Types a browser may show inline; everything else (PSD, unknown) is a download."""

_EXTRA_TYPES: Final = {".psd": "image/vnd.adobe.photoshop", ".webp": "image/webp"}


def media_type_of(path: PurePath) -> str:
    """The media type by suffix (PSD included), ``application/octet-stream`` if unknown."""
    suffix = path.suffix.lower()
    if suffix in _EXTRA_TYPES:
        return _EXTRA_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def is_web_url(reference: str) -> bool:
    """True for an absolute http(s) URL with a host."""
    parts = urlsplit(reference)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def stored_picture_response(
    data_dir: Path, *references: str | None, what: str, task_id: str
) -> Response:
    """The first of ``references`` stored here, else a redirect to the first web URL among them.

    Our stored copy comes first: the customer's link may have expired, and a staff browser
    should not fetch a customer-supplied URL when we hold the picture.
    """
    path = next(
        (p for p in (datafiles.stored_file(data_dir, r) for r in references) if p is not None),
        None,
    )
    if path is None:
        url = next((r for r in references if r and is_web_url(r)), None)
        if url is not None:
            return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
        raise NotFound(f"task {task_id!r} has no stored {what}", task_id=task_id)
    media_type = media_type_of(path)
    disposition = "inline" if media_type in INLINE_TYPES else "attachment"
    return FileResponse(
        path,
        media_type=media_type,
        content_disposition_type=disposition,
        filename=f"{task_id}-{what}{path.suffix.lower()}",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": FILE_CSP,
            "Cache-Control": "private, max-age=300",
        },
    )


def picture_references(task: Mapping[str, Any], what: str) -> tuple[str | None, ...]:
    """Where a task's ``original`` or ``result`` may be found, best first."""
    if what == "result":
        return (task.get("result_image"),)
    return datafiles.original_references(task)
