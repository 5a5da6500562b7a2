"""Fixtures for the gateway: a workflow on a fresh database, the simulator, a running client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from ai_cs.config import Settings
from ai_cs.gateway.sim import GatewaySimulator
from ai_cs.workflow import Workflow


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def gw_settings(settings: Settings) -> Settings:
    """Settings for gateway tests: loopback pictures allowed, no burst window unless asked."""
    return settings.model_copy(
        update={"fetch_allowed_hosts": ["127.0.0.1:*"], "gateway_burst_window_ms": 0}
    )


@pytest.fixture
def gw_workflow(database_url: str, gw_settings: Settings) -> Iterator[Workflow]:
    """A workflow (real clock) on a fresh database."""
    with Workflow(database_url=database_url, settings=gw_settings) as wf:
        yield wf


@pytest.fixture
async def sim() -> AsyncIterator[GatewaySimulator]:
    """A gateway simulator on a free loopback port."""
    async with GatewaySimulator(redeliver_after=1.0) as server:
        yield server
