"""Engines and units of work.

SQLite runs in WAL mode with a busy timeout; write transactions start with ``BEGIN IMMEDIATE`` so
two writers never both read and then fail to upgrade their lock ("database is locked"). Reads use
a separate engine with deferred transactions, so readers never queue behind writers.
PostgreSQL (psycopg 3) uses one pool for both.

Services take a :class:`~sqlalchemy.orm.Session` and never commit; the edge opens
``db.write()`` / ``db.read()`` and commits or rolls back.

A URL ai-cs cannot use is refused when the :class:`Database` is made (:func:`check_url`), with
the schemes that work, instead of an SQLAlchemy plugin error at the first connection.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ai_cs.errors import AicsError

T = TypeVar("T")

DEFAULT_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 10
"""libpq waits forever for an unanswered SYN by default; a dead host must fail (or be retried)."""

CONNECTION_KEY = "aics_connection"
"""``session.info`` key of a write transaction's connection (present = may be kept there)."""

SUPPORTED_URLS = "sqlite:///PATH or postgresql+psycopg://user@host:port/db"


class DatabaseUrlInvalid(AicsError):
    """The database URL names a scheme or driver ai-cs does not install (or is no URL)."""

    code = "database_url_invalid"
    http_status = 500


def check_url(url: str) -> URL:
    """``url`` parsed, or :class:`DatabaseUrlInvalid` naming its scheme and the ones that work.

    ai-cs installs the standard-library SQLite driver and psycopg 3, so only those two are
    accepted; anything else would fail later with an SQLAlchemy plugin or import error.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        shown = f" {url!r}" if "@" not in url else " it"  # never echo a password
        raise DatabaseUrlInvalid(
            f"cannot read{shown} as a database URL; use {SUPPORTED_URLS}"
        ) from None
    backend, _, driver = parsed.drivername.partition("+")
    scheme = parsed.drivername
    if backend in ("postgres", "postgresql"):
        try:
            driver = driver or parsed.get_driver_name()
        except NoSuchModuleError:
            driver = ""
        if backend == "postgresql" and driver == "psycopg":
            return parsed
        fixed = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=True)
        raise DatabaseUrlInvalid(
            f"database URL scheme {scheme!r} is not supported; PostgreSQL URLs start with "
            f"postgresql+psycopg:// (psycopg 3), e.g. {fixed}"
        )
    if backend == "sqlite" and driver in ("", "pysqlite"):
        return parsed
    raise DatabaseUrlInvalid(
        f"database URL scheme {scheme!r} is not supported; use {SUPPORTED_URLS}"
    )


def dialect_insert(session: Session, table: Any) -> Any:
    """The dialect's INSERT, which knows ``ON CONFLICT`` (SQLite and PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _sqlite_engine(url: str, busy_timeout_ms: int, begin: str) -> Engine:
    engine = create_engine(
        url,
        connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below (pysqlite otherwise
        # issues its own deferred BEGIN).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine


class Database:
    """One database: a writer and a reader engine and their session factories."""

    live: weakref.WeakSet[Database] = weakref.WeakSet()
    """Every open instance, so test teardown and shutdown can dispose of forgotten ones."""

    def __init__(self, url: str, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> None:
        parsed = check_url(url)
        Database.live.add(self)
        self.url = url
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                from pathlib import Path

                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.writer = _sqlite_engine(url, busy_timeout_ms, "BEGIN IMMEDIATE")
            self.reader = _sqlite_engine(url, busy_timeout_ms, "BEGIN")
        else:
            connect_args: dict[str, Any] = {}
            if "connect_timeout" not in parsed.query:
                connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
            self.writer = create_engine(
                url,
                pool_pre_ping=True,
                pool_size=10,
                max_overflow=20,
                connect_args=connect_args,
            )
            self.reader = self.writer
        # A Database dropped without dispose() still closes its pooled connections.
        weakref.finalize(self, self.writer.dispose)
        if self.reader is not self.writer:
            weakref.finalize(self, self.reader.dispose)
        self._write_sessions = sessionmaker(self.writer, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.reader, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.writer.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back on error."""
        with self._write_sessions() as session, session.begin():
            # The transaction has one connection: ai_cs.db.prepared.run keeps it here at its first
            # statement (asking the session on every statement costs more than executing a
            # prebuilt one). Not taken now: on SQLite that would begin the write lock early.
            session.info[CONNECTION_KEY] = None
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction, ended when the block ends.

        Closing (rather than rolling back) keeps loaded objects usable after the block; the
        connection's transaction is still rolled back when it returns to the pool.
        """
        with self._read_sessions() as session:
            yield session

    def run_write(self, fn: Callable[[Session], T], *, attempts: int = 5) -> T:
        """Run ``fn`` in a write transaction, retrying when SQLite still reports a busy database.

        ``BEGIN IMMEDIATE`` with a busy timeout makes this rare; the retry covers the corner where
        a checkpoint or a very long writer outlasts the timeout.
        """
        for attempt in range(attempts):
            try:
                with self.write() as session:
                    return fn(session)
            except OperationalError as exc:
                if not (self.is_sqlite and "locked" in str(exc).lower()) or attempt == attempts - 1:
                    raise
                time.sleep(0.05 * (2**attempt))
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()
