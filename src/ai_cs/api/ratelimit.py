"""Per-key rate limits: an in-memory token bucket for each API key.

Each key gets ``burst`` tokens that refill at ``rate_per_second``; a request takes one token, and
a request finding the bucket empty is refused with :class:`RateLimited` (HTTP 429) carrying the
seconds until the next token as ``Retry-After``. Buckets live in the process: several API
processes behind a load balancer each allow the full rate (stated in the report as a limit of
this design; a shared limiter belongs in the load balancer or PostgreSQL when that matters).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

from ai_cs.errors import AicsError

RATE_PER_SECOND: Final = 10.0
"""Default steady rate per key (``Settings.rate_limit_per_minute`` / 60 in the app)."""

BURST: Final = 120
"""Default bucket size: how many requests a key may make at once after a quiet spell."""

MAX_BUCKETS: Final = 10_000
"""Buckets kept before idle ones are dropped (keys are few; this bounds memory anyway)."""


class Limiter(Protocol):
    """What the apps need of a rate limiter (``app.state.rate_limiter``)."""

    def check(self, key: str) -> None:
        """Allow one request for ``key`` or raise :class:`RateLimited`."""
        ...


class RateLimited(AicsError, code="rate_limited", http_status=429):
    """Too many requests with one key; ``retry_after_seconds`` says when to come back."""


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucketLimiter:
    """Token buckets keyed by API key id; thread-safe (sync routes run in a thread pool)."""

    def __init__(
        self,
        rate_per_second: float = RATE_PER_SECOND,
        burst: int = BURST,
        *,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_per_second <= 0 or burst < 1:
            raise ValueError("rate_per_second must be positive and burst at least 1")
        self.rate = float(rate_per_second)
        self.burst = int(burst)
        self._now = now
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def _refilled(self, bucket: _Bucket, now: float) -> None:
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now

    def try_take(self, key: str) -> float:
        """Take a token for ``key``; returns 0.0 on success, else the seconds to wait."""
        now = self._now()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= MAX_BUCKETS:
                    self._drop_full(now)
                bucket = self._buckets[key] = _Bucket(tokens=float(self.burst), updated=now)
            else:
                self._refilled(bucket, now)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

    def check(self, key: str) -> None:
        """Take a token for ``key`` or raise :class:`RateLimited` with ``Retry-After``."""
        wait = self.try_take(key)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise RateLimited(
                f"too many requests with this key; retry in {retry_after} s",
                retry_after_seconds=retry_after,
            )

    def _drop_full(self, now: float) -> None:
        # A bucket that refilled completely carries no state worth keeping.
        for key, bucket in list(self._buckets.items()):
            self._refilled(bucket, now)
            if bucket.tokens >= self.burst:
                del self._buckets[key]


class Unlimited:
    """A limiter that never refuses (benchmarks, trusted internal callers)."""

    def check(self, key: str) -> None:
        """Always allow."""
        del key
