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
from collections.abc import Callable, Mapping
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


FILE_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": FILE_CSP,
    "Cache-Control": "private, max-age=300",
}

PICTURE_MAGIC: Final = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)

Fetcher = Callable[[str], bytes]
"""Downloads a customer's URL on the server (SSRF-checked by the caller's fetcher)."""


def picture_type(data: bytes) -> str | None:
    """The raster picture type of ``data`` by its first bytes (no SVG, nothing scriptable)."""
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((mime for magic, mime in PICTURE_MAGIC if data.startswith(magic)), None)


def fetched_picture_response(data: bytes, *, what: str) -> Response:
    """Bytes fetched from a customer's URL, served only if they are a raster picture."""
    mime = picture_type(data)
    if mime is None:
        raise NotFound(f"the {what} at the customer's link is not a picture")
    return Response(data, media_type=mime, headers=dict(FILE_HEADERS))


def stored_picture_response(
    data_dir: Path,
    *references: str | None,
    what: str,
    task_id: str,
    fetch: Fetcher | None = None,
) -> Response:
    """The first of ``references`` stored here, else the first web URL among them.

    Our stored copy comes first: the customer's link may have expired, and a staff browser
    should not fetch a customer-supplied URL (that tells the customer the staff's address).
    With ``fetch`` (the console) a web URL is downloaded by the server and served from here;
    without it (the JSON API, read by programs) the answer is a redirect to the URL.
    """
    path = next(
        (p for p in (datafiles.stored_file(data_dir, r) for r in references) if p is not None),
        None,
    )
    if path is None:
        url = next((r for r in references if r and is_web_url(r)), None)
        if url is not None and fetch is not None:
            return fetched_picture_response(fetch(url), what=what)
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
        headers=dict(FILE_HEADERS),
    )


def picture_references(task: Mapping[str, Any], what: str) -> tuple[str | None, ...]:
    """Where a task's ``original`` or ``result`` may be found, best first."""
    if what == "result":
        return (task.get("result_image"),)
    return datafiles.original_references(task)
