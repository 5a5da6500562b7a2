"""Serving stored pictures (originals and results) without trusting the stored reference.

``original_image`` and ``result_image`` hold either an http(s) URL or a file under the data
directory: a path relative to it (``results/ab/<sha256>.svg``), an absolute path, or a ``file:``
URL. A local reference is served only when it resolves (symlinks followed) to a regular file
inside the data directory; anything else is "not stored here", never a path traversal.
Files go out with ``nosniff`` and a Content-Security-Policy that forbids scripts, so an SVG
with a ``<script>`` in it cannot run in the viewer's browser.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path, PurePath
from typing import Final
from urllib.parse import unquote, urlsplit

from fastapi.responses import FileResponse, RedirectResponse, Response

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


def local_file(data_dir: Path, reference: str | None) -> Path | None:
    """The regular file ``reference`` names inside ``data_dir``, or ``None``."""
    if not reference or "\x00" in reference:
        return None
    if reference.startswith("file:"):
        parts = urlsplit(reference)
        if parts.netloc not in ("", "localhost"):
            return None
        reference = unquote(parts.path)
    elif urlsplit(reference).scheme and not Path(reference).is_absolute():
        return None  # some other URL scheme; nothing stored locally
    root = data_dir.resolve()
    candidate = Path(reference)
    if not candidate.is_absolute():
        candidate = root / candidate
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None  # missing, unreadable, or a symlink loop
    if not resolved.is_relative_to(root) or not resolved.is_file():
        return None
    return resolved


def stored_picture_response(
    data_dir: Path, reference: str | None, *, what: str, task_id: str
) -> Response:
    """The picture behind ``reference``: the file itself, or a redirect to its web URL."""
    if reference and is_web_url(reference):
        return RedirectResponse(reference, status_code=307, headers={"Cache-Control": "no-store"})
    path = local_file(data_dir, reference)
    if path is None:
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
