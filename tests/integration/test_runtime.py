"""Processes wait for the database at start instead of dying (a restart in progress)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from ai_cs.config import Settings
from ai_cs.runtime import Runtime


def test_start_waits_for_an_unreachable_database_then_gives_up(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url="postgresql+psycopg://postgres@127.0.0.1:9/nowhere?connect_timeout=1",
        _env_file=None,
    )
    started = time.monotonic()
    with pytest.raises(OperationalError):
        Runtime.start(settings, wait_seconds=2.0)
    assert time.monotonic() - started >= 1.0


def test_start_connects_to_a_reachable_database(database_url: str, tmp_path: Path) -> None:
    runtime = Runtime.start(
        Settings(data_dir=tmp_path, database_url=database_url, _env_file=None), wait_seconds=5
    )
    assert runtime.workflow.list_tasks()[1] == 0
    runtime.close()
