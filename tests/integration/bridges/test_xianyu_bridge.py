"""The 闲鱼 bridge in-process: fake Goofish ⇄ sessions ⇄ §7 endpoint ⇄ the real gateway client.

The handler is the gateway tests' stand-in for the agent (a picture makes a task, text is
echoed), so these tests are about the bridge: login, /reg, heartbeats, acks, dedup, every entry
of a push, order cards, echoes and takeover, reconnects, risk control, two accounts.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from ai_cs.agent.handler import AgentHandler
from ai_cs.bridges import accounts
from ai_cs.bridges.models import MarketplaceAccountEvent
from ai_cs.bridges.xianyu.bridge import add_account
from ai_cs.bridges.xianyu.sim import FakeGoofish
from ai_cs.config import Settings
from ai_cs.conversations import service as conversations
from ai_cs.gateway.runner import run_xianyu_bridge
from ai_cs.gateway.sim import demo_picture
from ai_cs.imaging.ocr import StaticOcr
from ai_cs.tasks.models import ImageTask
from ai_cs.workflow import Workflow

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))
from bridge_helpers import FAST, eventually, fake_settings  # noqa: E402
from gateway_helpers import ShopDouble  # noqa: E402

pytestmark = pytest.mark.anyio

SELLER_A, SELLER_B = "1000000001", "1000000002"


@pytest.fixture
def bridge_workflow(database_url: str, settings: Settings, fake: FakeGoofish) -> Any:
    configured = fake_settings(
        settings, fake, fetch_allowed_hosts=["127.0.0.1:*"], gateway_burst_window_ms=0
    )
    with Workflow(database_url=database_url, settings=configured) as wf:
        yield wf


@contextlib.asynccontextmanager
async def bridge_running(wf: Workflow, handler: Any) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_xianyu_bridge(
            wf.settings,
            stop,
            workflow=wf,
            bridge_options={"timings": FAST, "poll_seconds": 0.2},
            handler=handler,
            lease_seconds=2.0,
            deliver_results=False,
        )
    )
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


def _state(wf: Workflow, account_id: str) -> str:
    with wf.db.read() as session:
        return accounts.get_account(session, "xianyu", account_id).state


async def test_two_accounts_end_to_end_through_the_bridge(
    fake: FakeGoofish, bridge_workflow: Workflow
) -> None:
    wf = bridge_workflow
    a, b = fake.add_account(SELLER_A, "小店A"), fake.add_account(SELLER_B, "小店B")
    a.expire_sign_token_once = True
    for seller in (a, b):
        wf.db.run_write(lambda s, c=seller.cookie(): add_account(s, wf.clock, wf.settings, c))
    handler = ShopDouble(wf)
    async with bridge_running(wf, handler):
        assert await fake.wait_registered(SELLER_A) and await fake.wait_registered(SELLER_B)

        # Token: valid sign, one 令牌过期 retry; /reg with the stored, bound device id.
        with wf.db.read() as session:
            device_a = accounts.get_account(session, "xianyu", SELLER_A).device_id
        assert [c["expired"] for c in a.token_calls] == [True, False]
        assert a.regs == [(device_a, True)]
        assert await fake.wait_for(lambda: a.syncs == 1)
        assert await eventually(lambda: _state(wf, SELLER_A) == "online")

        # A buyer's text is answered in the right chat, on the right account.
        await fake.say(SELLER_A, "2201", "cid-a1", "在吗")
        assert await fake.wait_for(lambda: len(fake.sent_to(SELLER_A, "cid-a1")) == 1)
        assert fake.sent_to(SELLER_A, "cid-a1")[0].text == "收到：在吗"
        assert fake.sent_to(SELLER_A, "cid-a1")[0].to == "2201"

        # The same message id pushed twice is answered once.
        dup = fake.new_message_id()
        await fake.say(SELLER_A, "2201", "cid-a1", "第二句", message_id=dup)
        await fake.say(SELLER_A, "2201", "cid-a1", "第二句", message_id=dup)
        assert await fake.wait_for(lambda: len(fake.sent_to(SELLER_A, "cid-a1")) == 2)

        # A picture: a task for that account; two entries in one push both handled.
        url = fake.add_picture("p1.png", demo_picture())
        _, pic = fake.picture_entry("2201", "cid-a1", url, 800, 600)
        text_id = fake.new_message_id()
        from ai_cs.bridges.xianyu import frames as fr
        from ai_cs.bridges.xianyu.sim import chat_map

        text = chat_map(
            cid="cid-a2", sender="2202", message_id=text_id, content=fr.content_text("也在吗")
        )
        await fake.push(SELLER_A, [pic, text])
        assert await fake.wait_for(lambda: len(fake.sent_to(SELLER_A, "cid-a1")) == 3)
        assert await fake.wait_for(lambda: len(fake.sent_to(SELLER_A, "cid-a2")) == 1)
        with wf.db.read() as session:
            task = session.execute(select(ImageTask)).scalar_one()
        assert (task.acc_type, task.acc_id, task.customer_id) == ("xianyu", SELLER_A, "2201")
        assert handler.event_ids.count(f"xianyu:{SELLER_A}:{dup}") == 1

        # Account B is its own connection: its buyer gets B's answer, A's chats are untouched.
        await fake.say(SELLER_B, "3301", "cid-b1", "你好")
        assert await fake.wait_for(lambda: len(fake.sent_to(SELLER_B, "cid-b1")) == 1)
        assert fake.sent_to(SELLER_A, "cid-b1") == [] and fake.sent_to(SELLER_B, "cid-a1") == []

        # The payment card moves A's task to paid (order detail gives buyer and amount).
        fake.add_order("4012345678901234567", buyer="2201", seller=SELLER_A, amount_fen=3000)
        await fake.pay(SELLER_A, "2201", "cid-a1", "4012345678901234567")
        assert await eventually(
            lambda: wf.get_task(task.task_id)["status"] in ("paid", "processing", "failed")
        )

        # Our echoes never pause the AI; a person typing in the shop's app does.
        assert not _paused(wf, SELLER_A, "cid-a1")
        # A person typing exactly what the bot said is still a person: the bridge told echoes
        # apart by message id, so no text match is needed (or wanted) on this gateway.
        await fake.seller_types(SELLER_A, "2201", "cid-a1", "收到：在吗")
        assert await eventually(lambda: _paused(wf, SELLER_A, "cid-a1"), timeout=10)
        assert not _paused(wf, SELLER_A, "cid-a2")

        # Heartbeats flow; every push was acknowledged exactly once.
        assert await fake.wait_for(lambda: a.heartbeats >= 2)
        assert await fake.wait_for(lambda: all(a.acks[m] == 1 for m in a.pushes))
        assert all(b.acks[m] == 1 for m in b.pushes)

        # A dropped socket reconnects (cached token, same device id) and works again.
        await fake.drop(SELLER_A)
        assert await fake.wait_for(lambda: a.connections == 2 and len(a.regs) == 2)
        assert await fake.wait_registered(SELLER_A)
        assert a.regs[-1] == (device_a, True)
        assert len(a.token_calls) == 2  # no new token for a reconnect
        await fake.say(SELLER_A, "2203", "cid-a3", "还在吗")
        assert await fake.wait_for(lambda: len(fake.sent_to(SELLER_A, "cid-a3")) == 1)

        # Risk control: the account waits for a person; B stays online.
        a.risk = "verify"
        await fake.drop(SELLER_A)
        assert await eventually(lambda: _state(wf, SELLER_A) == "needs_verification")
        assert _state(wf, SELLER_B) == "online"
        await fake.say(SELLER_B, "3301", "cid-b1", "还有一个问题")
        assert await fake.wait_for(lambda: len(fake.sent_to(SELLER_B, "cid-b1")) == 2)

    with wf.db.read() as session:
        states = [
            e.state
            for e in session.execute(
                select(MarketplaceAccountEvent).where(
                    MarketplaceAccountEvent.account_id == SELLER_A
                )
            ).scalars()
        ]
        view = accounts.get_account(session, "xianyu", SELLER_A)
    assert "online" in states and states[-1] == "needs_verification"
    assert view.last_error and "RGV587" in view.last_error


def _paused(wf: Workflow, account: str, cid: str) -> bool:
    """Whether the AI is paused in the chat (the conversation row is the only pause)."""
    with wf.db.read() as session:
        until = conversations.chat_paused_until(
            session, wf.clock, platform="xianyu", account_id=account, chat_id=cid
        )
        return until is not None


def _rows(wf: Workflow, sql: str, **params: Any) -> list[Any]:
    with wf.db.read() as session:
        return list(session.execute(text(sql), params).all())


async def test_the_same_chat_and_buyer_on_two_accounts_stay_apart(
    fake: FakeGoofish, bridge_workflow: Workflow
) -> None:
    """Two shops, one buyer id, one chat id: two conversations, two tasks, each payment moves
    only its own shop's task — even when both shops' orders carry the same order id."""
    wf = bridge_workflow
    for seller in (fake.add_account(SELLER_A, "小店A"), fake.add_account(SELLER_B, "小店B")):
        wf.db.run_write(lambda s, c=seller.cookie(): add_account(s, wf.clock, wf.settings, c))
    handler = AgentHandler(wf, ocr=StaticOcr())
    async with bridge_running(wf, handler):
        assert await fake.wait_registered(SELLER_A) and await fake.wait_registered(SELLER_B)
        for shop in (SELLER_A, SELLER_B):
            url = fake.add_picture(f"{shop}.png", demo_picture(f"{shop[-1]} 50%"))
            await fake.say(shop, "2201", "cid-same", "你好，修图")
            await fake.send_picture(shop, "2201", "cid-same", url, 800, 600)
        assert await eventually(
            lambda: (
                len(_rows(wf, "SELECT task_id FROM image_tasks WHERE customer_id = '2201'")) == 2
            ),
            timeout=60,
        )
        tasks = dict(_rows(wf, "SELECT acc_id, task_id FROM image_tasks"))
        assert set(tasks) == {SELLER_A, SELLER_B}
        accounts_talking = {r[0] for r in _rows(wf, "SELECT account_id FROM conversations")}
        assert accounts_talking == {SELLER_A, SELLER_B}  # two conversations, one per shop
        assert await fake.wait_for(
            lambda: bool(fake.sent_to(SELLER_A, "cid-same") and fake.sent_to(SELLER_B, "cid-same")),
            timeout=30,
        )

        # B's buyer pays first, with an order id A's order will carry too.
        for shop in (SELLER_B, SELLER_A):
            (price,) = _rows(
                wf, "SELECT price_fen FROM image_tasks WHERE task_id = :t", t=tasks[shop]
            )[0]
            fake.orders.pop("4012345678901234567", None)
            fake.add_order("4012345678901234567", buyer="2201", seller=shop, amount_fen=price)
            await fake.pay(shop, "2201", "cid-same", "4012345678901234567")
            assert await eventually(
                lambda s=shop: wf.get_task(tasks[s])["status"] != "pending", timeout=60
            ), f"{shop}'s task was not paid"
            if shop == SELLER_B:
                assert wf.get_task(tasks[SELLER_A])["status"] == "pending"
