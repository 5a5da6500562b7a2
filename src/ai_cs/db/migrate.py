"""Alembic migrations, applied programmatically (``aics db upgrade`` and on first start).

Concurrent starters are serialised: a PostgreSQL advisory lock, or a file lock beside the SQLite
file, so several processes opening a fresh database at once migrate it exactly once.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ai_cs.db.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"
_ADVISORY_KEY = 0x61696373  # "aics"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revisions() -> frozenset[str]:
    """The newest migration of every branch (each domain may keep its own branch)."""
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def current_revisions(db: Database) -> frozenset[str]:
    """The revisions the database is at (empty when never migrated)."""
    with db.writer.connect() as conn:
        return frozenset(MigrationContext.configure(conn).get_current_heads())


def _label(revs: frozenset[str]) -> str | None:
    return ",".join(sorted(revs)) or None


@contextmanager
def _migration_lock(db: Database) -> Iterator[None]:
    if db.is_sqlite:
        path = make_url(db.url).database
        if not path or path == ":memory:":
            yield
            return
        lock_path = Path(path).with_suffix(".migrate.lock")
        with open(lock_path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    with db.writer.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _ADVISORY_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_KEY})
            conn.commit()


def upgrade(db: Database) -> tuple[str | None, str | None]:
    """Bring the database to the newest revisions; returns ``(before, after)`` labels.

    A database already at the heads is left untouched (no DDL, no lock held for long).
    """
    heads = head_revisions()
    before = current_revisions(db)
    if before == heads:
        return _label(before), _label(heads)
    with _migration_lock(db):
        before = current_revisions(db)
        if before != heads:
            cfg = alembic_config(db.url)
            with db.writer.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "heads")
    return _label(before), _label(current_revisions(db))
