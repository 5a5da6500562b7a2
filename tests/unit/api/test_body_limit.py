"""The body-size middleware counts bytes as they arrive and answers 413 in the error shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from ai_cs.web.limits import BodySizeLimit

pytestmark = pytest.mark.anyio


class ReadingApp:
    """Reads the whole body and answers with its length (stands in for a route)."""

    def __init__(self) -> None:
        self.read = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        more = True
        while more:
            message = await receive()
            self.read += len(message.get("body", b""))
            more = message.get("more_body", False)
        body = json.dumps({"read": self.read}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


async def run(
    middleware: BodySizeLimit, headers: list[tuple[bytes, bytes]], chunks: list[bytes]
) -> tuple[int, dict[str, Any], int]:
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    pending = list(chunks)
    delivered = 0

    async def receive() -> Message:
        nonlocal delivered
        chunk = pending.pop(0) if pending else b""
        delivered += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await middleware(scope, receive, send)
    status = sent[0]["status"]
    body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    return status, body, delivered


async def test_declared_length_over_the_limit_is_refused_unread() -> None:
    app = ReadingApp()
    status, body, delivered = await run(
        BodySizeLimit(app, max_upload_bytes=100),
        [(b"content-length", b"101")],
        [b"x" * 101],
    )
    assert status == 413
    assert body["error"]["code"] == "payload_too_large"
    assert delivered == 0 and app.read == 0


async def test_chunked_body_is_cut_off_once_over_the_limit() -> None:
    app = ReadingApp()
    status, body, delivered = await run(
        BodySizeLimit(app, max_upload_bytes=100), [], [b"x" * 40] * 10
    )
    assert status == 413
    assert body["error"]["code"] == "payload_too_large"
    assert delivered == 120  # stopped at the third chunk, seven never read


async def test_only_multipart_uploads_get_the_upload_limit() -> None:
    limit = BodySizeLimit(ReadingApp(), max_upload_bytes=1000, max_json_bytes=10)
    for small in (b"application/json", b"image/png", b"text/plain", b"multipart/mixed; b=x"):
        status, _, _ = await run(limit, [(b"content-type", small)], [b"x" * 11])
        assert status == 413, small
    status, _, _ = await run(limit, [], [b"x" * 11])  # no type at all
    assert status == 413
    multipart = [(b"content-type", b"Multipart/Form-Data; boundary=x")]
    status, body, _ = await run(limit, multipart, [b"x" * 11])
    assert status == 200 and body == {"read": 11}


async def test_malformed_content_length_is_400() -> None:
    for value in (b"abc", b"-5", b"1e9"):
        status, body, _ = await run(
            BodySizeLimit(ReadingApp(), max_upload_bytes=100), [(b"content-length", value)], [b""]
        )
        assert status == 400 and body["error"]["code"] == "bad_request"


async def test_bodies_within_the_limit_pass() -> None:
    status, body, _ = await run(BodySizeLimit(ReadingApp(), max_upload_bytes=100), [], [b"x" * 100])
    assert status == 200 and body == {"read": 100}
