"""Statements built once and executed with parameters: the hot paths' cheap way to SQL.

Building an SQLAlchemy statement per call (``update(t).where(...).values(**row)``) costs Python
time every call: every value is coerced into a bound parameter and the statement's cache key is
walked again before the compiled SQL can be found in the engine's cache (≈ 60 µs a statement on
the project machine, against ≈ 12 µs for the whole ``sqlite3`` round trip; measured with
cProfile under ``aics bench --only workflow``). A statement built once with :func:`bindparam`
placeholders memoizes its cache key, so executing it is a dictionary lookup plus the driver
call. The same statement object serves SQLite and PostgreSQL (SQLAlchemy compiles it once per
dialect), so there is still one code path for both.

Use :func:`prepared` to build a statement lazily and keep it (keyed by the builder and its
hashable arguments), and :func:`run` to execute it on a session's connection (the ORM layer has
nothing to add to a Core statement).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Connection, CursorResult, Executable
from sqlalchemy.orm import Session

from ai_cs.db.database import CONNECTION_KEY

P = ParamSpec("P")
S = TypeVar("S", bound=Executable)


def prepared(builder: Callable[P, S]) -> Callable[P, S]:
    """Decorate a statement builder so each distinct argument tuple builds its statement once.

    The builder's arguments must be hashable and few (a dialect flag, a tuple of column names):
    the cache is unbounded on purpose, because the set of statements a program runs is fixed.
    """
    return functools.cache(builder)  # type: ignore[return-value]


def run(
    session: Session, statement: Executable, params: Mapping[str, Any] | None = None
) -> CursorResult[Any]:
    """Execute a prebuilt Core statement in the session's transaction."""
    return _connection(session).execute(statement, params or {})


def is_pg(session: Session) -> bool:
    """True on PostgreSQL, which needs ``FOR UPDATE`` where SQLite's ``BEGIN IMMEDIATE`` locks."""
    return _connection(session).dialect.name == "postgresql"


def _connection(session: Session) -> Connection:
    # A Database.write() session keeps its transaction's connection, valid while that same
    # transaction is open (a commit or rollback inside the block starts another, perhaps on
    # another pooled connection); other sessions are asked each time.
    info = session.info
    kept = info.get(CONNECTION_KEY)
    transaction = session.get_transaction()
    if kept is not None and transaction is not None and kept[0] is transaction:
        conn: Connection = kept[1]
        return conn
    conn = session.connection()
    if CONNECTION_KEY in info:
        info[CONNECTION_KEY] = (session.get_transaction(), conn)
    return conn
