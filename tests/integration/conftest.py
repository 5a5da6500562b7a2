"""Integration fixtures: a ``Workflow`` on a fresh database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ai_cs.clock import FixedClock
from ai_cs.config import Settings
from ai_cs.workflow import Workflow


@pytest.fixture
def workflow(database_url: str, settings: Settings) -> Iterator[Workflow]:
    """A workflow on a fresh database with the real clock."""
    wf = Workflow(database_url=database_url, settings=settings)
    try:
        yield wf
    finally:
        wf.close()


@pytest.fixture
def fixed_workflow(database_url: str, settings: Settings, clock: FixedClock) -> Iterator[Workflow]:
    """A workflow whose clock stands at 2026-02-27 18:00 (the seed's examples)."""
    wf = Workflow(database_url=database_url, settings=settings, clock=clock)
    try:
        yield wf
    finally:
        wf.close()
