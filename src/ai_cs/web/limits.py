"""Request body limits enforced while the body is read (an ASGI middleware counting bytes).

A request declaring a ``Content-Length`` over the limit is refused before a byte of its body is
read; a chunked body is counted as it arrives and refused the moment it passes the limit, so the
server never holds more than the limit in memory. Only ``multipart/form-data`` bodies (file
uploads) get the upload limit; every other body — JSON (every staff action), forms, or a body
whose declared type does not match the route — gets a much smaller one: no such request of ours
comes near it, and a JSON route sent a multipart or ``text/plain`` body reads it whole before it
can refuse the type. Keys are checked before any body is read (:mod:`ai_cs.web.keyfirst`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Final

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_JSON_BYTES: Final = 1024 * 1024
"""Limit for every body but a multipart upload (staff actions are a few hundred bytes)."""


class BodyTooLarge(HTTPException):
    """The request body is larger than this endpoint accepts (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than {limit} bytes")
        self.limit = limit


def _reject_body(status: int, code: str, message: str) -> list[Message]:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return [
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The unread rest of the body makes the connection unusable for another request.
                (b"connection", b"close"),
            ],
        },
        {"type": "http.response.body", "body": body},
    ]


def limited_receive(receive: Receive, limit: int, too_large: Callable[[], Exception]) -> Receive:
    """``receive`` that raises ``too_large()`` once more than ``limit`` body bytes arrived."""
    received = 0

    async def counting_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise too_large()
        return message

    return counting_receive


class BodySizeLimit:
    """ASGI middleware: 413 in the error shape for bodies over the limit."""

    def __init__(
        self, app: ASGIApp, *, max_upload_bytes: int, max_json_bytes: int = MAX_JSON_BYTES
    ) -> None:
        self.app = app
        self.max_upload_bytes = max_upload_bytes
        self.max_json_bytes = min(max_json_bytes, max_upload_bytes)

    def _limit_for(self, scope: Scope) -> tuple[int, int | None, bool]:
        """``(limit, declared length, declared length is malformed)`` for this request."""
        limit = self.max_json_bytes
        declared: int | None = None
        malformed = False
        for name, value in scope.get("headers", ()):
            if name == b"content-type" and value.split(b";")[0].strip().lower() == (
                b"multipart/form-data"
            ):
                limit = self.max_upload_bytes
            elif name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    malformed = True
                else:
                    malformed = malformed or declared < 0
        return limit, declared, malformed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count body bytes as they arrive; refuse the request once it passes the limit."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, declared, malformed = self._limit_for(scope)
        if malformed:
            for message in _reject_body(400, "bad_request", "malformed Content-Length"):
                await send(message)
            return
        if declared is not None and declared > limit:
            for message in _reject_body(
                413, "payload_too_large", f"request body is larger than {limit} bytes"
            ):
                await send(message)
            return

        response_started = False
        counting_receive = limited_receive(receive, limit, lambda: BodyTooLarge(limit))

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge as exc:
            # Normally the app's exception handler has answered already; this covers code that
            # reads the body outside a route (middleware, streaming) and let the error through.
            if response_started:
                raise
            for message in _reject_body(413, "payload_too_large", str(exc.detail)):
                await send(message)
