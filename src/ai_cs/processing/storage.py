"""Result file storage behind a small interface.

The default keeps files content-addressed under ``DATA_DIR/results`` (``results/ab/<sha256>.ext``),
written atomically (temp file + rename), so storing the same bytes twice — a job re-run after a
crash, a duplicated callback — leaves one file. An S3-compatible store can implement the same
three methods for a multi-machine deployment.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from ai_cs.errors import NotFound

_KEY = re.compile(r"^results/[0-9a-f]{2}/[0-9a-f]{64}\.(png|jpg|svg|psd|webp)$")


class ResultStorage(Protocol):
    """Where results live."""

    def put(self, data: bytes, extension: str) -> str:
        """Store ``data``; returns its key (the same key for the same bytes)."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes behind ``key`` or :class:`~ai_cs.errors.NotFound`."""
        ...

    def path(self, key: str) -> Path:
        """A local path for ``key`` (for serving files), or :class:`NotFound`."""
        ...


class LocalStorage:
    """Content-addressed files under ``root`` (normally the data directory)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, data: bytes, extension: str) -> str:
        """Store atomically; an existing identical file is reused."""
        ext = extension.lstrip(".").lower()
        digest = hashlib.sha256(data).hexdigest()
        key = f"results/{digest[:2]}/{digest}.{ext}"
        if not _KEY.match(key):
            raise ValueError(f"unsupported result extension {extension!r}")
        target = self.root / key
        if target.exists():
            return key
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

    def path(self, key: str) -> Path:
        """The file for ``key``; keys are validated so no path can escape the root."""
        if not isinstance(key, str) or not _KEY.match(key):
            raise NotFound(f"no stored result {key!r}")
        target = self.root / key
        if not target.is_file():
            raise NotFound(f"no stored result {key!r}")
        return target

    def get(self, key: str) -> bytes:
        """The stored bytes."""
        return self.path(key).read_bytes()
