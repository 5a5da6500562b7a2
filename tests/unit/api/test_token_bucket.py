"""The token bucket: bursts, refill, per-key buckets, Retry-After."""

from __future__ import annotations

import pytest

from ai_cs.api.ratelimit import RateLimited, TokenBucketLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refusal_then_refill() -> None:
    clock = FakeTime()
    limiter = TokenBucketLimiter(rate_per_second=2.0, burst=3, now=clock)
    assert [limiter.try_take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.try_take("k") == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.try_take("k") == 0.0
    assert limiter.try_take("k") == pytest.approx(0.5)
    clock.now += 100  # a long pause refills only up to the burst
    assert [limiter.try_take("k") for _ in range(4)][-1] > 0


def test_keys_have_their_own_buckets() -> None:
    clock = FakeTime()
    limiter = TokenBucketLimiter(rate_per_second=1.0, burst=1, now=clock)
    limiter.check("a")
    limiter.check("b")
    with pytest.raises(RateLimited) as refused:
        limiter.check("a")
    assert refused.value.http_status == 429
    assert refused.value.code == "rate_limited"
    assert refused.value.details["retry_after_seconds"] == 1


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    clock = FakeTime()
    limiter = TokenBucketLimiter(rate_per_second=0.25, burst=1, now=clock)
    limiter.check("k")
    clock.now += 0.5
    with pytest.raises(RateLimited) as refused:
        limiter.check("k")
    assert refused.value.details["retry_after_seconds"] == 4  # 3.5 s left → 4


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError):
        TokenBucketLimiter(rate_per_second=0, burst=1)
    with pytest.raises(ValueError):
        TokenBucketLimiter(rate_per_second=1, burst=0)
