"""FastAPI dependencies shared by both apps: database, clock, settings, queue, bearer-key auth.

Apps keep their ``Database``, ``Clock``, ``Settings`` and (the API) ``JobQueue`` on ``app.state``
(set by their ``create_app``), so nothing is built at import time and every domain's routes
reach them the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool

from ai_cs.auth.keycache import KeyCache
from ai_cs.auth.service import Principal, Scope, check_key, touch_key
from ai_cs.clock import Clock
from ai_cs.config import Settings
from ai_cs.db.database import Database
from ai_cs.jobs.queue import JobQueue


def _app_state(name: str) -> Any:
    """A dependency on ``request.app.state.<name>``.

    ``async`` only so that FastAPI does not hop to a thread pool to read an attribute.
    """

    async def read(request: Request) -> Any:
        return getattr(request.app.state, name)

    return Depends(read)


DbDep = Annotated[Database, _app_state("db")]
"""The app's database."""
ClockDep = Annotated[Clock, _app_state("clock")]
"""The app's clock."""
SettingsDep = Annotated[Settings, _app_state("settings")]
"""The settings the app was created with."""
QueueDep = Annotated[JobQueue, _app_state("queue")]
"""The job queue work is enqueued on (the API app's; same transaction as the change)."""


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def authenticate_key(db: Database, clock: Clock, token: str | None) -> Principal:
    """Check a key in a read transaction; write ``last_used_at`` only when it is due.

    Every request checks its key, so this keeps requests from taking the SQLite write lock
    (``BEGIN IMMEDIATE``) except once a minute per key.
    """
    with db.read() as session:
        principal, stale = check_key(session, clock, token)
    if stale:
        with db.write() as session:
            touch_key(session, clock, principal.key_id)
    return principal


def key_cache(app: FastAPI) -> KeyCache:
    """The app's :class:`KeyCache` (made at first use; apps need not set it up)."""
    cache: KeyCache | None = getattr(app.state, "key_cache", None)
    if cache is None:
        cache = app.state.key_cache = KeyCache()
    return cache


async def principal_of(request: Request, db: Database, clock: Clock) -> Principal:
    """The caller's principal: once per request, from the key cache when it was just checked.

    Only a key not checked in the last seconds costs the database read, and only that read is
    handed to a thread; a cached key is answered on the event loop.
    """
    known: Principal | None = getattr(request.state, "checked_key", None)
    if known is not None:
        return known
    token = bearer_token(request)
    cache = key_cache(request.app)
    principal = cache.get(token)
    if principal is None:
        principal = await run_in_threadpool(authenticate_key, db, clock, token)
        if token:
            cache.put(token, principal)
    request.state.checked_key = principal
    return principal


def require(*scopes: Scope) -> Callable[..., Awaitable[Principal]]:
    """A dependency that authenticates the caller and requires one of ``scopes``.

    401 without a valid key, 403 with a valid key lacking the scope, 429 when the app's
    ``rate_limiter`` (if any) refuses the key.
    """

    async def dependency(request: Request, db: DbDep, clock: ClockDep) -> Principal:
        principal = await principal_of(request, db, clock)
        principal.require(*scopes)
        request.state.principal = principal
        # Apps that keep a per-key rate limiter on their state (the API on 6060) apply it to
        # every authenticated route, whichever domain's router the route comes from.
        limiter = getattr(request.app.state, "rate_limiter", None)
        if limiter is not None:
            limiter.check(principal.key_id)
        return principal

    return dependency


StaffKey = Annotated[Principal, Depends(require(Scope.STAFF))]
"""Shop staff (or admin): every action."""

ReaderKey = Annotated[Principal, Depends(require(Scope.STAFF, Scope.PARTNER))]
"""Staff or a partner system (limited to its own shop accounts)."""


def actor_name(principal: Principal) -> str:
    """How a caller appears in the staff-actions log: ``scope:key name``."""
    return f"{principal.scope.value}:{principal.name}"
