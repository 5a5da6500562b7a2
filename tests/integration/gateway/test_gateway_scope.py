"""Everything from a marketplace is scoped by platform + shop account (issue 18 item 2).

Each test is one attack an event from another shop (or another platform) could make on a shop's
task or chat: pay it, refund it, close it, write into its conversation.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from gateway_helpers import ShopDouble, make_client, running
from sqlalchemy import select

from ai_cs.agent.handler import AgentHandler
from ai_cs.conversations.models import Conversation, ConversationMessage
from ai_cs.core.tasks import TaskStatus
from ai_cs.gateway.sim import Customer, GatewaySimulator
from ai_cs.imaging.ocr import StaticOcr
from ai_cs.marketplace.models import GatewayInbox
from ai_cs.tasks import service as tasks
from ai_cs.tasks.models import Payment
from ai_cs.workflow import Workflow

pytestmark = pytest.mark.anyio

BUYER = "buyer-77"
SHOP_A = Customer(id=BUYER, nick="买家", conversation_id="chat-1", account_id="shop-a")
SHOP_B = Customer(id=BUYER, nick="买家", conversation_id="chat-1", account_id="shop-b")
SHOP_A_ON_TAOBAO = Customer(
    id=BUYER, nick="买家", conversation_id="chat-1", account_id="shop-a", platform="taobao"
)


def _inbox_row(wf: Workflow, event_id: str) -> GatewayInbox | None:
    with wf.db.read() as s:
        return s.execute(
            select(GatewayInbox).where(GatewayInbox.event_id == event_id)
        ).scalar_one_or_none()


def _task_of_shop_a(wf: Workflow, price_fen: int = 3000) -> dict[str, Any]:
    return wf.create_image_task(
        BUYER,
        "http://127.0.0.1/p.png",
        "remove_bg",
        price_fen=price_fen,
        acc_id=SHOP_A.account_id,
        acc_type=SHOP_A.platform,
        conversation_id=SHOP_A.conversation,
    )


async def _settled(wf: Workflow, event_id: str, timeout: float = 10.0) -> tuple[str, str | None]:
    """The event's status and outcome once it was processed or put off (a waiting payment)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        row = await asyncio.to_thread(_inbox_row, wf, event_id)
        if row is not None and (
            row.status != "received" or row.next_attempt_at > wf.clock.epoch() + 0.5
        ):
            return row.status, row.outcome
        await asyncio.sleep(0.05)
    raise AssertionError(f"event {event_id} was not settled in {timeout}s")


async def test_a_payment_from_another_shop_never_pays_this_shops_task(
    gw_workflow: Workflow, sim: GatewaySimulator
) -> None:
    """Same buyer id, same amount, same order id: only shop A's own payment pays A's task."""
    task = _task_of_shop_a(gw_workflow)
    async with running(make_client(gw_workflow, sim, ShopDouble(gw_workflow))):
        foreign = await sim.pay(SHOP_B, "order-1", 3000)
        status, _ = await _settled(gw_workflow, foreign)
        assert status == "received"  # waits for a task of shop B's, which never comes
        assert gw_workflow.get_task(task["task_id"])["status"] == "pending"

        own = await sim.pay(SHOP_A, "order-1", 3000)  # the very same order id, shop A's own
        status, outcome = await _settled(gw_workflow, own)
    assert (status, outcome) == ("processed", f"payment: applied {task['task_id']}")
    assert gw_workflow.get_task(task["task_id"])["status"] != "pending"
    with gw_workflow.db.read() as s:
        rows = s.execute(select(Payment.platform, Payment.account_id, Payment.outcome)).all()
    assert [tuple(r) for r in rows] == [("xianyu", "shop-a", "applied")]


@pytest.mark.parametrize(
    ("order_status", "amount", "before", "strangers", "unmatched", "own", "after"),
    [
        # The same account id and order id on another platform is another shop's order.
        pytest.param(
            "refunded",
            None,
            "processing",
            [SHOP_A_ON_TAOBAO],
            "refund",
            "refunded",
            "refunded",
            id="a refund from another platform does not refund it",
        ),
        pytest.param(
            "closed",
            3000,
            "pending",
            [SHOP_B],
            "close",
            "cancelled",
            "cancelled",
            id="a close from another shop does not cancel it",
        ),
        pytest.param(
            "done",
            None,
            "awaiting_confirm",
            [SHOP_B, SHOP_A_ON_TAOBAO],
            "confirm",
            "confirmed",
            "completed",
            id="a receipt confirmed in another shop does not complete it",
        ),
    ],
)
async def test_an_order_event_from_another_shop_leaves_this_shops_task_alone(
    gw_workflow: Workflow,
    sim: GatewaySimulator,
    order_status: str,
    amount: int | None,
    before: str,
    strangers: list[Customer],
    unmatched: str,
    own: str,
    after: str,
) -> None:
    """Shop A's task is brought to ``before``; the strangers' events about the same order id
    leave it there; shop A's own event does what it says."""
    task = _task_of_shop_a(gw_workflow)
    tid = task["task_id"]
    order = f"order-{order_status}"
    async with running(make_client(gw_workflow, sim, ShopDouble(gw_workflow))):
        if before != "pending":
            paid = await sim.pay(SHOP_A, order, 3000)
            assert (await _settled(gw_workflow, paid))[0] == "processed"
        if before == "awaiting_confirm":
            gw_workflow.db.run_write(
                lambda s: tasks.transition(s, gw_workflow.clock, tid, TaskStatus.AWAITING_CONFIRM)
            )
        assert gw_workflow.get_task(tid)["status"] == before
        for stranger in strangers:
            event = await sim.order_status(stranger, order, order_status, amount)
            assert await _settled(gw_workflow, event) == (
                "processed",
                f"{unmatched}_unmatched: order {order}",
            )
        assert gw_workflow.get_task(tid)["status"] == before
        event = await sim.order_status(SHOP_A, order, order_status, amount)
        assert await _settled(gw_workflow, event) == ("processed", f"{own}: {tid}")
    assert gw_workflow.get_task(tid)["status"] == after


async def test_a_message_from_another_shop_with_this_chat_id_lands_in_its_own_conversation(
    gw_workflow: Workflow, sim: GatewaySimulator
) -> None:
    handler = AgentHandler(gw_workflow, ocr=StaticOcr())
    async with running(make_client(gw_workflow, sim, handler)) as client:
        await sim.say(SHOP_A, "你好，我想抠图")
        assert await sim.wait_for_replies(SHOP_A, 1, timeout=30)
        await sim.say(SHOP_B, "B店的消息：在吗")
        assert await sim.wait_for(
            lambda: any(d.account_id == "shop-b" for d in sim.messages_to(SHOP_B)), 30
        )
        assert await client.processor.idle(10)
    with gw_workflow.db.read() as s:
        convs = {
            c.account_id: c
            for c in s.execute(select(Conversation).order_by(Conversation.created_at)).scalars()
        }
        assert set(convs) == {"shop-a", "shop-b"}
        assert {c.chat_id for c in convs.values()} == {"chat-1"}
        texts = {
            account: [
                m.text
                for m in s.execute(
                    select(ConversationMessage)
                    .where(ConversationMessage.conversation_id == conv.conversation_id)
                    .where(ConversationMessage.role == "customer")
                ).scalars()
            ]
            for account, conv in convs.items()
        }
    assert convs["shop-a"].conversation_id == "chat-1"  # the first shop keeps the chat's id
    assert convs["shop-b"].conversation_id != "chat-1"
    assert texts == {"shop-a": ["你好，我想抠图"], "shop-b": ["B店的消息：在吗"]}
    # Each shop answered in its own account, in the chat as the platform names it.
    sent = sim.record.delivered.values()
    assert {(d.account_id, d.conversation_id) for d in sent} == {
        ("shop-a", "chat-1"),
        ("shop-b", "chat-1"),
    }
