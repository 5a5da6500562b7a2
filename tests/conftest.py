"""Shared fixtures: a fresh database per test, on SQLite and (when configured) PostgreSQL.

PostgreSQL runs when ``AICS_TEST_POSTGRES_URL`` is set (CI sets it): each test gets its own
schema, dropped afterwards, so tests never share state.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ai_cs.clock import FixedClock
from ai_cs.config import Settings

PG_ENV = "AICS_TEST_POSTGRES_URL"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="session", autouse=True)
def _intent_model_trained() -> None:
    """Train the agent's intent model once, before any test starts a clock.

    A process trains it at its first customer turn (2 s quiet, 10+ s on a loaded CI machine);
    inside a test that waits a few seconds for a gateway reply, that first turn read as a hang.
    """
    from ai_cs.agent.intent_model import intent_model

    intent_model()


def _pg_admin_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def make_pg_schema_url() -> tuple[str, str]:
    """Create a fresh schema on the test PostgreSQL; returns (sqlalchemy url, schema)."""
    import psycopg

    base = os.environ[PG_ENV]
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(_pg_admin_url(base), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def drop_pg_schema(schema: str) -> None:
    """Drop a schema made by :func:`make_pg_schema_url`."""
    import psycopg

    with psycopg.connect(_pg_admin_url(os.environ[PG_ENV]), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(autouse=True)
def _dispose_databases() -> Iterator[None]:
    """Close every pooled connection a test left open (psycopg warns when one is collected)."""
    yield
    from ai_cs.db.database import Database

    for db in list(Database.live):
        db.dispose()


@contextlib.contextmanager
def pg_schema_url() -> Iterator[str]:
    """A fresh PostgreSQL schema for one test, dropped afterwards (skipped when not set up)."""
    if not os.environ.get(PG_ENV):
        pytest.skip(f"{PG_ENV} is not set")
    url, schema = make_pg_schema_url()
    try:
        yield url
    finally:
        drop_pg_schema(schema)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ai_cs.db'}"
        return
    with pg_schema_url() as url:
        yield url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema (skipped when AICS_TEST_POSTGRES_URL is not set)."""
    with pg_schema_url() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file URL in the test's temporary directory."""
    return f"sqlite:///{tmp_path / 'ai_cs.db'}"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing at the test's own data directory."""
    return Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def clock() -> FixedClock:
    """A clock fixed at the seed's date, 2026-02-27 18:00 in Shanghai."""
    return FixedClock(datetime(2026, 2, 27, 18, 0, tzinfo=SHANGHAI))
