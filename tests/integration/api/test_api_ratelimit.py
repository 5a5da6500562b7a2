"""Per-key rate limits answer 429 with Retry-After, in the error shape."""

from __future__ import annotations

import httpx
from api_helpers import assert_error, bearer
from fastapi import FastAPI

from ai_cs.api.ratelimit import TokenBucketLimiter


def test_a_key_over_its_rate_gets_429_with_retry_after(
    app: FastAPI, client: httpx.Client, keys: dict[str, str]
) -> None:
    app.state.rate_limiter = TokenBucketLimiter(rate_per_second=0.2, burst=3)
    staff = bearer(keys["staff"])
    for _ in range(3):
        assert client.get("/api/v1/tasks", headers=staff).status_code == 200
    refused = client.get("/api/v1/tasks", headers=staff)
    assert_error(refused, 429, "rate_limited")
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= 5

    # Buckets are per key: another key is not held back by the first one's burst.
    assert client.get("/api/v1/tasks", headers=bearer(keys["admin"])).status_code == 200
    # Actions are limited the same way.
    refused_post = client.post("/api/v1/tasks/TASK_1/confirm", headers=staff)
    assert_error(refused_post, 429, "rate_limited")


def test_unauthenticated_requests_do_not_use_anyones_bucket(
    app: FastAPI, client: httpx.Client, keys: dict[str, str]
) -> None:
    app.state.rate_limiter = TokenBucketLimiter(rate_per_second=0.2, burst=2)
    for _ in range(5):
        assert_error(client.get("/api/v1/tasks"), 401)
    staff = bearer(keys["staff"])
    assert client.get("/api/v1/tasks", headers=staff).status_code == 200
    assert client.get("/api/v1/tasks", headers=staff).status_code == 200
    assert_error(client.get("/api/v1/tasks", headers=staff), 429)
