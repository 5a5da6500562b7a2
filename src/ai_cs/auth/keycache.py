"""A few seconds' memory of keys that checked out, so a busy client is not checked per request.

Every API request carries its bearer key; checking it is a database read (and, on the API,
a thread hop for it). A client sending many requests a second presents the same key each time,
so the principal found for it is kept for :data:`KEY_CACHE_SECONDS`. Revocation is honoured
within that time: keys are revoked from the command line (another process), and after the
entry expires the next request reads the key again and is refused. Refused keys are never
kept, so a key that was wrong stays wrong and a new key works at once.

Entries are keyed by SHA-256 of the presented token (the secret itself is not kept).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from typing import Final

from ai_cs.auth.service import Principal

KEY_CACHE_SECONDS: Final = 2.0
"""How long a revoked key can still be used by a process that checked it just before."""

MAX_ENTRIES: Final = 1024
"""Keys remembered at most (least recently used dropped first)."""


@dataclass(eq=False)
class KeyCache:
    """Principals of recently accepted tokens, each for ``ttl_seconds``."""

    ttl_seconds: float = KEY_CACHE_SECONDS
    _: KW_ONLY
    max_entries: int = MAX_ENTRIES
    monotonic: Callable[[], float] = time.monotonic
    _entries: OrderedDict[bytes, tuple[float, Principal]] = field(
        init=False, repr=False, default_factory=OrderedDict
    )
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    @staticmethod
    def _key(token: str) -> bytes:
        return hashlib.sha256(token.strip().encode()).digest()

    def get(self, token: str | None) -> Principal | None:
        """The principal accepted for ``token`` less than ``ttl_seconds`` ago, else ``None``."""
        if not token or self.ttl_seconds <= 0:
            return None
        key = self._key(token)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self.monotonic() >= entry[0]:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, token: str, principal: Principal) -> None:
        """Remember that ``token`` was accepted as ``principal`` (just checked in the database)."""
        if self.ttl_seconds <= 0:
            return
        with self._lock:
            key = self._key(token)
            self._entries[key] = (self.monotonic() + self.ttl_seconds, principal)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def forget(self, key_id: str) -> None:
        """Drop every entry of ``key_id`` (a key revoked by this process)."""
        with self._lock:
            for key in [k for k, (_, p) in self._entries.items() if p.key_id == key_id]:
                del self._entries[key]
