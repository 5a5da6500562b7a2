"""Response headers every server of ours sends: ``X-Content-Type-Options: nosniff``.

A middleware rather than per-route headers, so an error page, a redirect or a route added later
cannot go out without it (the API on 6060 and dispatch on 8005 both install it).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class NoSniff:
    """ASGI middleware: ``X-Content-Type-Options: nosniff`` on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the header to the response start unless the app set it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"x-content-type-options" for name, _ in headers):
                    headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_header)
