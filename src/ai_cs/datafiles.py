"""The files ai-cs keeps in its data directory, named by storage keys.

A **storage key** is the one way the rest of the system names a stored file: a customer's
picture as intake stored it (``images/ab/<sha256>.jpg``) or a result (``results/ab/<sha256>.png``),
always relative to the data directory, always content-addressed. The database holds keys, never
paths, so a data directory can be given as ``./data`` (relative to the working directory at
start), moved, or mounted elsewhere without breaking a single task.

:func:`path_of` is the only function that turns a key into a file. Because it accepts nothing but
the key grammar, the database file, the callback secret or any other file that happens to live in
the data directory can never be served or read through a task's picture columns.

Rows written before keys existed hold a path to the same file (absolute, or relative such as
``data/images/ab/<sha256>.png``); :func:`key_of` recovers the key from the end of such a path, which
is safe because the key alone names the content.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from ai_cs.errors import NotFound

KINDS: Final = ("images", "results")
"""Folders that hold keyed files: customers' pictures and processing results."""

EXTENSIONS: Final = ("png", "jpg", "svg", "psd", "webp", "pdf", "eps", "zip")
"""File types a stored picture or result may have (``zip``: an order delivered in several
formats, e.g. SVG + PDF + EPS)."""

_KEY_BODY: Final = (
    rf"(?:{'|'.join(KINDS)})/[0-9a-f]{{2}}/[0-9a-f]{{64}}\.(?:{'|'.join(EXTENSIONS)})"
)
_KEY: Final = re.compile(rf"^{_KEY_BODY}$")
_KEY_AT_END: Final = re.compile(rf"(?:^|/)({_KEY_BODY})$")


def is_key(reference: object) -> bool:
    """Whether ``reference`` is written as a storage key (``images/…`` or ``results/…``)."""
    return isinstance(reference, str) and bool(_KEY.match(reference))


def key_of(reference: str | None) -> str | None:
    """The storage key a stored reference names, or ``None`` for anything else.

    Accepts a key, or a path or ``file:`` URL ending in one (rows from before keys existed);
    web URLs and paths to other files give ``None``.
    """
    if not reference or "\x00" in reference:
        return None
    text = reference.replace("\\", "/")
    if text.startswith("file:"):
        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            return None
        text = unquote(parts.path)
    elif urlsplit(text).scheme and not re.match(r"^[a-zA-Z]:/", text):
        return None  # http(s) and every other URL scheme: nothing stored under that name
    match = _KEY_AT_END.search(text)
    return match.group(1) if match else None


def path_of(data_dir: Path, key: str) -> Path:
    """The file behind ``key`` inside ``data_dir`` (which may not exist yet).

    Raises :class:`~ai_cs.errors.NotFound` for anything that is not a storage key, so no value
    can name a file outside the keyed folders.
    """
    if not is_key(key):
        raise NotFound(f"{key!r} is not a stored file")
    return data_dir / key


def stored_file(data_dir: Path, reference: str | None) -> Path | None:
    """The existing regular file a stored reference names inside ``data_dir``, or ``None``."""
    key = key_of(reference)
    if key is None:
        return None
    path = data_dir / key
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None  # missing, unreadable, or a symlink loop
    if not resolved.is_file() or not resolved.is_relative_to(data_dir.resolve()):
        return None
    return resolved


def put(data_dir: Path, kind: str, data: bytes, extension: str, *, durable: bool = False) -> str:
    """Store ``data`` content-addressed under ``kind`` and return its key.

    Written beside the target and renamed, so a reader never sees half a file; the same bytes
    stored twice (a job re-run after a crash, a duplicated upload) leave one file. ``durable``
    also fsyncs before the rename, for results whose loss would cost a re-run.
    """
    ext = extension.lstrip(".").lower()
    if ext == "jpeg":
        ext = "jpg"
    digest = hashlib.sha256(data).hexdigest()
    key = f"{kind}/{digest[:2]}/{digest}.{ext}"
    if not is_key(key):
        raise ValueError(f"cannot store a {kind!r} file with extension {extension!r}")
    target = data_dir / key
    if target.exists():
        return key
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=f".{ext}")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        raise
    return key


def original_references(task: Mapping[str, Any]) -> tuple[str | None, ...]:
    """Where a task's original picture may be found, best first.

    Intake's stored copy (``requirements.stored_image``) comes first — the customer's link may
    have expired, and staff browsers should not fetch customer-supplied URLs — then the
    ``original_image`` the customer sent.
    """
    requirements = task.get("requirements")
    if isinstance(requirements, str):
        try:
            requirements = json.loads(requirements)
        except ValueError:
            requirements = None
    stored = requirements.get("stored_image") if isinstance(requirements, Mapping) else None
    key = key_of(stored) if isinstance(stored, str) else None
    return (key, task.get("original_image"))


def best_original(task: Mapping[str, Any]) -> str | None:
    """The reference a reader of the original should use: our stored key, else the customer's."""
    stored, original = original_references(task)
    return stored or original
