"""Downloading a designer's result: an error answer becomes a domain error, never a crash."""

from __future__ import annotations

import httpx
import pytest

from ai_cs.dispatch.client import DispatchRejected, DispatchUnavailable, HttpDispatchClient


def _client(handler: httpx.MockTransport) -> HttpDispatchClient:
    return HttpDispatchClient("http://dispatch.test", "aics_key_x", transport=handler)


@pytest.mark.parametrize(
    ("status", "error"),
    [(404, DispatchRejected), (410, DispatchRejected), (503, DispatchUnavailable)],
)
def test_a_non_2xx_download_is_a_domain_error(status: int, error: type[Exception]) -> None:
    body = b'{"error": {"code": "result_missing", "message": "job j1 has no stored result"}}'
    # Streamed like a real server's answer, so nothing of it is read yet.
    transport = httpx.MockTransport(
        lambda _request: httpx.Response(status, content=iter([body, b" " * 100_000]))
    )
    with _client(transport) as client, pytest.raises(error) as info:
        client.fetch_result("http://dispatch.test/api/v1/jobs/j1/result")
    assert f"HTTP {status}" in str(info.value)


def test_a_result_from_another_host_is_refused_without_a_request() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, content=b"x")

    with _client(httpx.MockTransport(handler)) as client, pytest.raises(DispatchRejected):
        client.fetch_result("http://elsewhere.test/api/v1/jobs/j1/result")
    assert calls == []
