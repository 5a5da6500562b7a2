"""The bearer key is checked before a byte of the request body is read (an ASGI middleware).

FastAPI reads and parses a route's body (JSON, a multipart form) before it resolves the route's
dependencies, so a key checked by a dependency is checked only after the server has taken in the
whole body: an unauthenticated client could make it read, parse and spool tens of megabytes per
request. This middleware answers 401 for a request to a keyed path prefix whose key is missing or
invalid before the app sees the request, so its body is never read; a valid key is remembered on
the request (``state.checked_key``) and the route's dependency does not look it up again. Scope
checks stay with the routes (403 is theirs).

Which requests: every method that may carry a body (not GET/HEAD/OPTIONS) under the keyed
prefixes, except the listed public paths (the dispatch callback, which is HMAC-signed over its
small JSON body and must read it to check the signature). The staff console (a login cookie, not
a bearer key) gets the same for uploads: a multipart post under its prefix without a live
session is sent to the login page before its file is read. Its other forms are small (1 MiB at
most, :mod:`ai_cs.web.limits`) and checked by the routes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from ai_cs.auth.sessions import session_principal
from ai_cs.errors import AicsError
from ai_cs.web.deps import principal_of

BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _answer(send: Send, status: int, code: str, message: str, extra: dict[str, str]) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        # The body was not read: the connection cannot carry another request.
        (b"connection", b"close"),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass(frozen=True)
class CookieLogin:
    """Where a cookie-authenticated area lives: path prefix, cookie name, login page."""

    prefix: str
    cookie: str
    login_path: str


def _cookie(scope: Scope, name: str) -> str | None:
    return Request(scope).cookies.get(name)


def _is_multipart(scope: Scope) -> bool:
    for key, value in scope.get("headers", ()):
        if key == b"content-type":
            return bool(value.split(b";")[0].strip().lower() == b"multipart/form-data")
    return False


class KeyBeforeBody:
    """ASGI middleware: 401 before the body for keyed paths without a valid bearer key."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        prefixes: Sequence[str] = ("/api/",),
        public: Sequence[str] = (),
        cookie_login: CookieLogin | None = None,
    ) -> None:
        self.app = app
        self.prefixes = tuple(prefixes)
        self.public = frozenset(public)
        self.cookie_login = cookie_login

    async def _cookie_upload_allowed(self, scope: Scope, send: Send) -> bool:
        """For a console upload: True with a live login, else redirect to the login page."""
        login = self.cookie_login
        assert login is not None
        state = scope["app"].state
        token = _cookie(scope, login.cookie)

        def check() -> None:
            with state.db.read() as session:
                session_principal(session, state.clock, token)

        try:
            await run_in_threadpool(check)
            return True
        except AicsError:
            pass
        location = f"{login.login_path}?reason=expired&next={quote(scope['path'], safe='/')}"
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", location.encode()),
                    (b"content-length", b"0"),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})
        return False

    def _applies(self, scope: Scope) -> bool:
        path: str = scope.get("path", "")
        return (
            scope["type"] == "http"
            and scope.get("method", "GET") not in BODYLESS_METHODS
            and path.startswith(self.prefixes)
            and path.rstrip("/") not in self.public
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the key of a request that may carry a body; pass it on only when valid."""
        login = self.cookie_login
        if (
            login is not None
            and scope["type"] == "http"
            and scope.get("method", "GET") not in BODYLESS_METHODS
            and scope.get("path", "").startswith(login.prefix)
            and _is_multipart(scope)
        ):
            if await self._cookie_upload_allowed(scope, send):
                await self.app(scope, receive, send)
            return
        if not self._applies(scope):
            await self.app(scope, receive, send)
            return
        app_state = scope["app"].state
        request = Request(scope)  # no receive: nothing here may touch the body
        try:
            await principal_of(request, app_state.db, app_state.clock)
        except AicsError as exc:
            extra = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else {}
            await _answer(send, exc.http_status, exc.code, exc.message, extra)
            return
        except (OperationalError, InterfaceError):
            await _answer(
                send,
                503,
                "database_unavailable",
                "the database is unavailable; try again shortly",
                {"Retry-After": "5"},
            )
            return
        await self.app(scope, receive, send)
