"""Fixtures of the bridge tests: the fake Goofish service on a free loopback port, and a seller
account on it that ai-cs knows (through the test module's ``wf`` workflow)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ai_cs.bridges.xianyu.bridge import add_account
from ai_cs.bridges.xianyu.sim import FakeAccount, FakeGoofish
from ai_cs.workflow import Workflow

SELLER = "1000000001"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def fake() -> AsyncIterator[FakeGoofish]:
    """A fake Goofish (mtop, upload, websocket) serving in the test's event loop."""
    async with FakeGoofish() as service:
        yield service


@pytest.fixture
def seller(fake: FakeGoofish, wf: Workflow) -> FakeAccount:
    """The shop's account ``SELLER`` on the fake, added to ai-cs with its cookie."""
    account = fake.add_account(SELLER, "修图小店")
    wf.db.run_write(lambda s: add_account(s, wf.clock, wf.settings, account.cookie()))
    return account
