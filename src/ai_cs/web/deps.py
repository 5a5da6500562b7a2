"""FastAPI dependencies shared by both apps: the database, the clock, and bearer-key auth.

Apps keep their ``Database`` and ``Clock`` on ``app.state`` (set by their ``create_app``), so
nothing is built at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from ai_cs.auth.service import Principal, Scope, authenticate
from ai_cs.clock import Clock
from ai_cs.db.database import Database


def get_db(request: Request) -> Database:
    """The app's database."""
    db: Database = request.app.state.db
    return db


def get_clock(request: Request) -> Clock:
    """The app's clock."""
    clock: Clock = request.app.state.clock
    return clock


DbDep = Annotated[Database, Depends(get_db)]
ClockDep = Annotated[Clock, Depends(get_clock)]


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def require(*scopes: Scope) -> Callable[..., Principal]:
    """A dependency that authenticates the caller and requires one of ``scopes``.

    401 without a valid key, 403 with a valid key lacking the scope.
    """

    def dependency(request: Request, db: DbDep, clock: ClockDep) -> Principal:
        token = bearer_token(request)
        with db.write() as session:
            principal = authenticate(session, clock, token)
        principal.require(*scopes)
        request.state.principal = principal
        return principal

    return dependency
