"""Result file storage behind a small interface.

The default keeps files content-addressed under ``DATA_DIR/results`` (``results/ab/<sha256>.ext``),
written atomically (temp file + rename), so storing the same bytes twice — a job re-run after a
crash, a duplicated callback — leaves one file. An S3-compatible store can implement the same
three methods for a multi-machine deployment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from ai_cs import datafiles
from ai_cs.errors import NotFound


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
    """Content-addressed files under ``root`` (normally the data directory), by storage key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, data: bytes, extension: str) -> str:
        """Store atomically and durably; an existing identical file is reused."""
        return datafiles.put(self.root, "results", data, extension, durable=True)

    def path(self, key: str) -> Path:
        """The file for ``key``; only result keys are accepted, so nothing can escape the root."""
        if not isinstance(key, str) or not key.startswith("results/"):
            raise NotFound(f"no stored result {key!r}")
        path = datafiles.stored_file(self.root, key)
        if path is None or datafiles.key_of(key) != key:
            raise NotFound(f"no stored result {key!r}")
        return path

    def get(self, key: str) -> bytes:
        """The stored bytes."""
        return self.path(key).read_bytes()
