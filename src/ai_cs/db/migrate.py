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


def head_revision() -> str | None:
    """The newest migration id."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(db: Database) -> str | None:
    """The revision the database is at (``None`` when never migrated)."""
    with db.writer.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


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
    """Bring the database to the newest revision; returns ``(before, after)``.

    A database already at head is left untouched (no DDL, no lock held for long).
    """
    head = head_revision()
    before = current_revision(db)
    if before == head:
        return before, head
    with _migration_lock(db):
        before = current_revision(db)
        if before != head:
            cfg = alembic_config(db.url)
            with db.writer.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
    return before, current_revision(db)
