"""Fixtures of the bridge tests: the fake Goofish service on a free loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ai_cs.bridges.xianyu.sim import FakeGoofish


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def fake() -> AsyncIterator[FakeGoofish]:
    """A fake Goofish (mtop, upload, websocket) serving in the test's event loop."""
    async with FakeGoofish() as service:
        yield service
