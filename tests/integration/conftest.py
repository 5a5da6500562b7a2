"""Integration fixtures: a ``Workflow`` on a fresh database, the CLI in this process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ai_cs.clock import FixedClock
from ai_cs.config import Settings, get_settings
from ai_cs.workflow import Workflow


@pytest.fixture
def workflow(database_url: str, settings: Settings) -> Iterator[Workflow]:
    """A workflow on a fresh database with the real clock."""
    with Workflow(database_url=database_url, settings=settings) as wf:
        yield wf


@pytest.fixture
def fixed_workflow(database_url: str, settings: Settings, clock: FixedClock) -> Iterator[Workflow]:
    """A workflow whose clock stands at 2026-02-27 18:00 (the seed's examples)."""
    with Workflow(database_url=database_url, settings=settings, clock=clock) as wf:
        yield wf


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[CliRunner]:
    """``CliRunner`` on a clean environment in ``tmp_path``; set more with ``monkeypatch``."""
    for key in [k for k in os.environ if k.startswith("AICS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AICS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    try:
        yield CliRunner()
    finally:
        get_settings.cache_clear()


@pytest.fixture
def db_runner(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> Iterator[CliRunner]:
    """``aics`` on this test's database and data directory (the rest of the environment kept)."""
    monkeypatch.setenv("AICS_DATABASE_URL", database_url)
    monkeypatch.setenv("AICS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        yield CliRunner()
    finally:
        get_settings.cache_clear()
