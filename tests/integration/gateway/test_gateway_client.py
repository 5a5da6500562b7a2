"""The gateway client against the simulator on loopback: acks, exactly-once, bursts, cuts."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from gateway_helpers import EchoHandler, ShopDouble, make_client, running
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ai_cs.conversations import service as conversations
from ai_cs.core.tasks import TaskStatus
from ai_cs.db.models import Job
from ai_cs.gateway.sim import Customer, GatewaySimulator
from ai_cs.marketplace.models import GatewayInbox, GatewayOutbox
from ai_cs.tasks.models import Payment
from ai_cs.tasks.service import transition
from ai_cs.workflow import Workflow
from factories import open_chat

pytestmark = pytest.mark.anyio

SHOP_1 = {"acc_type": "xianyu", "acc_id": "shop-1"}
"""The simulator's shop: marketplace payments and order changes reach only its tasks."""


@pytest.fixture
def handler() -> EchoHandler:
    """The test's echoing handler: its ``turns`` are what the client handed over."""
    return EchoHandler()


def _shop_task(wf: Workflow, customer: Customer, price_fen: int) -> dict[str, Any]:
    """A pending 画质增强 task of the simulator's shop for ``customer``."""
    return wf.create_image_task(
        customer.id, f"http://x/{customer.id}.png", "enhance", price_fen=price_fen, **SHOP_1
    )


def _inbox(wf: Workflow) -> list[GatewayInbox]:
    with wf.db.read() as s:
        return list(s.execute(select(GatewayInbox).order_by(GatewayInbox.id)).scalars())


def _outbox(wf: Workflow) -> list[GatewayOutbox]:
    with wf.db.read() as s:
        return list(s.execute(select(GatewayOutbox).order_by(GatewayOutbox.id)).scalars())


def _chat_paused_until(session: Session, wf: Workflow, chat: str) -> float | None:
    """The AI's pause in the simulator shop's chat (the conversation row is the only one)."""
    return conversations.chat_paused_until(
        session, wf.clock, platform="xianyu", account_id="shop-1", chat_id=chat
    )


def _answered_texts(sim: GatewaySimulator, customer: Customer) -> Counter[str]:
    """How often each ``收到：<text>`` line came back to the customer."""
    lines: Counter[str] = Counter()
    for item in sim.messages_to(customer):
        for line in item.text.removeprefix("收到：").split("\n"):
            lines[line] += 1
    return lines


async def test_every_event_is_acked_and_answered_once_although_delivered_three_times(
    gw_workflow: Workflow, sim: GatewaySimulator, handler: EchoHandler
) -> None:
    people = [Customer(id=f"b{i}", nick=f"顾客{i}") for i in range(4)]
    async with running(make_client(gw_workflow, sim, handler)) as client:
        for round_ in range(3):
            for person in people:
                await sim.say(person, f"{person.id}-m{round_}", duplicates=3)
        assert await sim.wait_for(
            lambda: all(sum(_answered_texts(sim, p).values()) >= 3 for p in people), 15
        )
        assert await client.processor.idle(10)
        await asyncio.sleep(0.3)  # room for a wrong second answer to show up

    assert sim.unacked == set()
    assert set(sim.record.acks) == set(sim.record.pushed)
    assert len(sim.record.acks) >= 3 * len(sim.record.pushed)  # every copy was acked
    for person in people:
        answered = _answered_texts(sim, person)
        assert answered == Counter({f"{person.id}-m{r}": 1 for r in range(3)})
    # each event handled exactly once
    assert sorted(handler.event_ids) == sorted(sim.record.pushed)
    rows = _inbox(gw_workflow)
    assert len(rows) == 12 and {r.status for r in rows} == {"processed"}
    assert all(r.status == "sent" for r in _outbox(gw_workflow))


async def test_a_burst_of_messages_becomes_one_turn(
    gw_workflow: Workflow, sim: GatewaySimulator, handler: EchoHandler
) -> None:
    customer = Customer(id="burst-1")
    async with running(make_client(gw_workflow, sim, handler, burst_window_ms=400)):
        for text in ("在吗", "想做个图", "能抠图吗"):
            await sim.say(customer, text)
            await asyncio.sleep(0.05)
        assert await sim.wait_for_replies(customer, 1, timeout=10)
        await asyncio.sleep(0.6)
    assert len(handler.turns) == 1
    assert handler.turns[0].text == "在吗\n想做个图\n能抠图吗"
    assert len(handler.turns[0].event_ids) == 3
    assert [m.text for m in sim.messages_to(customer)] == ["收到：在吗\n想做个图\n能抠图吗"]


async def test_a_payment_is_applied_once_although_delivered_five_times_out_of_order(
    gw_workflow: Workflow, sim: GatewaySimulator
) -> None:
    customer = Customer(id="payer-1")
    picture = sim.add_picture("p.png", b"not needed by the double")
    handler = ShopDouble(gw_workflow)
    async with running(make_client(gw_workflow, sim, handler)) as client:
        # The payment arrives before the picture that creates its task, then again and again
        # between the customer's messages.
        pay = await sim.pay(customer, "order-77", 3000)
        await sim.send_picture(customer, picture, text="帮我抠图")
        await sim.redeliver(pay, copies=2)
        await sim.say(customer, "对了，要高清一点")
        await sim.redeliver(pay, copies=2)
        assert await sim.wait_for(
            lambda: any("付款" in m.text for m in sim.messages_to(customer)), 15
        )
        assert await client.processor.idle(10)
        await asyncio.sleep(0.3)

    tasks = gw_workflow.get_customer_tasks("payer-1")
    assert len(tasks) == 1 and tasks[0]["status"] == "processing"
    with gw_workflow.db.read() as s:
        payments = list(s.execute(select(Payment)).scalars())
        jobs = s.execute(select(func.count()).select_from(Job)).scalar_one()
    assert [(p.payment_id, p.outcome) for p in payments] == [("order-77", "applied")]
    assert jobs == 1
    paid_messages = [m for m in sim.messages_to(customer) if "付款" in m.text]
    assert len(paid_messages) == 1 and "开始处理" in paid_messages[0].text
    assert sim.unacked == set()
    # Every delivery acked once: the five sent here, and any the simulator redelivered itself
    # because an ack was slow (a loaded machine).
    assert Counter(sim.record.acks)[pay] == sim.record.deliveries[pay] >= 5


async def test_the_same_order_under_two_event_ids_is_paid_and_answered_once(
    gw_workflow: Workflow, sim: GatewaySimulator
) -> None:
    customer = Customer(id="payer-2")
    _shop_task(gw_workflow, customer, 2000)
    async with running(make_client(gw_workflow, sim, EchoHandler())) as client:
        await sim.pay(customer, "order-88", 2000)
        await sim.pay(customer, "order-88", 2000)
        assert await sim.wait_for(lambda: len(sim.record.acks) >= 2, 10)
        assert await client.processor.idle(10)
        await asyncio.sleep(0.3)
    assert gw_workflow.get_customer_tasks("payer-2")[0]["status"] == "processing"
    assert [m.text for m in sim.messages_to(customer)].count(sim.messages_to(customer)[0].text) == 1
    assert len(sim.messages_to(customer)) == 1
    outcomes = [r.outcome for r in _inbox(gw_workflow)]
    assert outcomes[0].startswith("payment: applied")
    assert "seen before" in outcomes[1]


async def test_a_wrong_amount_is_recorded_and_the_customer_told_politely(
    gw_workflow: Workflow, sim: GatewaySimulator
) -> None:
    from ai_cs.conversations.models import Conversation

    customer = Customer(id="payer-3")
    task = _shop_task(gw_workflow, customer, 6000)
    gw_workflow.db.run_write(
        lambda s: open_chat(
            s, gw_workflow.clock, customer.conversation, customer.id, account_id="shop-1"
        )
    )
    async with running(make_client(gw_workflow, sim, EchoHandler())):
        await sim.pay(customer, "order-99", 100)
        assert await sim.wait_for_replies(customer, 1, timeout=10)
    assert gw_workflow.get_task(task["task_id"])["status"] == "pending"
    with gw_workflow.db.read() as s:
        payment = s.get(Payment, ("xianyu", "shop-1", "order-99"))
        conv = s.get(Conversation, customer.conversation)
    assert payment is not None and payment.outcome == "amount_mismatch"
    assert conv is not None and conv.needs_human == 1  # in the staff console for review
    assert "order-99" in (conv.needs_human_reason or "")
    text = sim.messages_to(customer)[0].text
    assert "付款 1 元" in text and "报价 60 元" in text and "人工核对" in text


async def test_a_cut_in_the_middle_of_a_burst_loses_and_doubles_nothing(
    gw_workflow: Workflow, sim: GatewaySimulator, handler: EchoHandler
) -> None:
    customer = Customer(id="cut-1")
    async with running(make_client(gw_workflow, sim, handler, burst_window_ms=300)) as client:
        await sim.say(customer, "第一句")
        await sim.say(customer, "第二句")
        await sim.disconnect()  # the network drops mid-burst
        await sim.say(customer, "第三句")  # held by the gateway until the client is back
        await sim.say(customer, "第四句", duplicates=2)
        assert await sim.wait_for(lambda: sim.live_connections == 1, 10)
        assert await sim.wait_for(lambda: sum(_answered_texts(sim, customer).values()) >= 4, 10)
        assert await client.processor.idle(10)
        await asyncio.sleep(0.5)
    assert client.stats.connections >= 2
    assert sim.unacked == set()
    assert _answered_texts(sim, customer) == Counter(
        {"第一句": 1, "第二句": 1, "第三句": 1, "第四句": 1}
    )
    assert sorted(handler.event_ids) == sorted(sim.record.pushed)


async def test_unanswered_sends_go_out_again_with_the_same_command_id_after_a_reconnect(
    gw_workflow: Workflow, sim: GatewaySimulator
) -> None:
    customer = Customer(id="retry-1")
    sim.answer_sent = False  # the gateway swallows the receipts
    async with running(make_client(gw_workflow, sim, EchoHandler())):
        await sim.say(customer, "你好")
        assert await sim.wait_for(lambda: len(sim.record.sends) >= 1, 10)
        assert [r.status for r in _outbox(gw_workflow)] == ["pending"]
        sim.answer_sent = True
        await sim.disconnect()
        assert await sim.wait_for(lambda: len(sim.record.sends) >= 2, 10)
        assert await sim.wait_for(lambda: [r.status for r in _outbox(gw_workflow)] == ["sent"], 10)
    command_ids = [s["command_id"] for s in sim.record.sends]
    assert len(set(command_ids)) == 1  # a retry, not a new message
    assert [m.text for m in sim.messages_to(customer)] == ["收到：你好"]


async def test_a_seller_message_pauses_the_ai_in_that_conversation_only(
    gw_workflow: Workflow, sim: GatewaySimulator, handler: EchoHandler
) -> None:
    taken, other = Customer(id="t-1"), Customer(id="t-2")
    async with running(make_client(gw_workflow, sim, handler)) as client:
        await sim.say(taken, "你好")
        assert await sim.wait_for_replies(taken, 1)
        await sim.seller_says(taken, "收到：你好")  # the platform echoing our reply: no takeover
        await sim.say(taken, "在吗")
        assert await sim.wait_for_replies(taken, 2)
        await sim.seller_says(taken, "我是店主，我来跟您说")
        await sim.say(taken, "好的")
        await sim.say(other, "别的会话")
        assert await sim.wait_for_replies(other, 1)
        assert await client.processor.idle(10)
        await asyncio.sleep(0.3)
    assert [m.text for m in sim.messages_to(taken)] == ["收到：你好", "收到：在吗"]
    outcomes = {r.event_id: r.outcome for r in _inbox(gw_workflow)}
    assert sorted(outcomes.values()).count("ai_paused_manual_takeover") == 1
    assert "seller_echo_of_our_reply" in outcomes.values()
    with gw_workflow.db.read() as s:
        assert _chat_paused_until(s, gw_workflow, taken.conversation)
        assert _chat_paused_until(s, gw_workflow, other.conversation) is None


async def test_refunds_and_closed_orders_reach_the_task(
    gw_workflow: Workflow, sim: GatewaySimulator
) -> None:
    payer, closer = Customer(id="r-1"), Customer(id="r-2")
    paid, unpaid = _shop_task(gw_workflow, payer, 1000), _shop_task(gw_workflow, closer, 1500)
    gw_workflow.trigger_processing_on_payment("r-1", payment_id="order-r1", amount_fen=1000)
    async with running(make_client(gw_workflow, sim, EchoHandler())) as client:
        await sim.order_status(payer, "order-r1", "refunded", 1000)
        await sim.order_status(closer, "order-r2", "closed", 1500)
        await sim.order_status(closer, "order-r3", "shipped")
        assert await sim.wait_for(lambda: len(set(sim.record.acks)) == 3, 10)
        assert await client.processor.idle(10)
    assert gw_workflow.get_task(paid["task_id"])["status"] == "refunded"
    assert gw_workflow.get_task(unpaid["task_id"])["status"] == "cancelled"
    outcomes = [r.outcome for r in _inbox(gw_workflow)]
    assert outcomes == [
        f"refunded: {paid['task_id']}",
        f"cancelled: {unpaid['task_id']}",
        "order_status_recorded: shipped",
    ]


async def test_a_receipt_confirmed_on_the_platform_completes_the_task(
    gw_workflow: Workflow, sim: GatewaySimulator
) -> None:
    buyer = Customer(id="c-1")
    task = _shop_task(gw_workflow, buyer, 1000)
    gw_workflow.trigger_processing_on_payment("c-1", payment_id="order-c1", amount_fen=1000)
    gw_workflow.db.run_write(
        lambda s: transition(
            s, gw_workflow.clock, task["task_id"], TaskStatus.AWAITING_CONFIRM, result_image="r.png"
        )
    )
    async with running(make_client(gw_workflow, sim, EchoHandler())) as client:
        await sim.order_status(buyer, "order-c1", "done", 1000)
        await sim.order_status(buyer, "order-c1", "done", 1000)
        await sim.order_status(buyer, "order-unknown", "done", 1000)
        assert await sim.wait_for(lambda: len(set(sim.record.acks)) == 3, 10)
        assert await client.processor.idle(10)
    done = gw_workflow.get_task(task["task_id"])
    assert done["status"] == "completed" and done["completed_at"] is not None
    assert [r.outcome for r in _inbox(gw_workflow)] == [
        f"confirmed: {task['task_id']}",
        f"confirmed: {task['task_id']}",
        "confirm_unmatched: order order-unknown",
    ]
    assert sim.messages_to(buyer) == []


async def test_a_malformed_event_is_acked_and_kept_for_staff_not_redelivered_forever(
    gw_workflow: Workflow, sim: GatewaySimulator
) -> None:
    async with running(make_client(gw_workflow, sim, EchoHandler())):
        await sim.push({"event_id": "bad-1", "kind": "message", "account_id": "shop-1"})
        assert await sim.wait_for(lambda: "bad-1" in sim.record.acks, 10)
    rows = _inbox(gw_workflow)
    assert [(r.event_id, r.status) for r in rows] == [("bad-1", "failed")]
    assert rows[0].outcome is not None and rows[0].outcome.startswith("invalid_event")
    assert sim.unacked == set()


async def test_a_frame_nested_too_deeply_is_acked_once_and_the_client_reads_on(
    gw_workflow: Workflow, sim: GatewaySimulator
) -> None:
    customer = Customer(id="after-poison")
    nested = "[" * 100_000 + "]" * 100_000
    poison = '{"type": "event", "event": {"event_id": "deep-1", "kind": "message", "x": '
    async with running(make_client(gw_workflow, sim, EchoHandler())) as client:
        await sim.push_frame("deep-1", poison + nested + "}}")
        assert await sim.wait_for(lambda: "deep-1" in sim.record.acks, 10)
        await sim.say(customer, "你好")  # the same connection still reads and answers
        assert await sim.wait_for(lambda: bool(sim.messages_to(customer)), 15)
        assert await client.processor.idle(10)
    assert Counter(sim.record.acks)["deep-1"] == sim.record.deliveries["deep-1"]
    assert sim.connections == 1  # the read loop did not end
    rows = {r.event_id: r for r in _inbox(gw_workflow)}
    assert rows["deep-1"].status == "failed"
    assert sim.unacked == set()


async def test_a_second_client_for_the_same_account_waits_for_the_lease(
    gw_workflow: Workflow, sim: GatewaySimulator
) -> None:
    first = make_client(gw_workflow, sim, EchoHandler(), holder="first")
    second = make_client(gw_workflow, sim, EchoHandler(), holder="second")
    stop_second = asyncio.Event()
    async with running(first):
        waiting = asyncio.create_task(second.run(stop_second))
        await asyncio.sleep(1.0)
        assert sim.connections == 1 and not second.connected.is_set()
    # The first client released its lease when it stopped: the second takes over.
    try:
        await asyncio.wait_for(second.connected.wait(), 10)
    finally:
        stop_second.set()
        await asyncio.wait_for(waiting, 10)
    assert sim.connections == 2


async def test_a_takeover_goes_through_the_conversation_and_staff_see_what_the_customer_wrote(
    gw_workflow: Workflow, sim: GatewaySimulator, handler: EchoHandler
) -> None:
    from ai_cs.conversations.models import Conversation

    customer = Customer(id="conv-owner")
    gw_workflow.db.run_write(
        lambda s: open_chat(
            s, gw_workflow.clock, customer.conversation, customer.id, account_id="shop-1"
        )
    )
    async with running(make_client(gw_workflow, sim, handler)) as client:
        await sim.seller_says(customer, "您好，我是店主")
        await sim.say(customer, "好的，麻烦您了")
        assert await sim.wait_for(lambda: len(set(sim.record.acks)) == 2, 10)
        assert await client.processor.idle(10)
    assert handler.turns == [] and sim.messages_to(customer) == []
    with gw_workflow.db.read() as s:
        conv = s.get(Conversation, customer.conversation)
        assert conv is not None and conv.takeover_until is not None
        assert conv.takeover_until > gw_workflow.clock.epoch() + 29 * 60
        rows, _total = conversations.list_messages(s, customer.conversation)
    assert [(m["role"], m["text"]) for m in rows] == [
        ("staff", "您好，我是店主"),
        ("customer", "好的，麻烦您了"),
    ]


async def test_a_gateway_that_stops_answering_pings_is_dropped_and_reconnected(
    gw_workflow: Workflow, sim: GatewaySimulator
) -> None:
    customer = Customer(id="hung-1")
    client = make_client(gw_workflow, sim, EchoHandler(), ping_interval=0.2, ping_timeout=0.3)
    async with running(client):
        sim.freeze()  # the connection stays open but nothing comes back, not even pongs
        assert await sim.wait_for(lambda: sim.connections == 2, 10)
        await sim.say(customer, "还在吗")
        assert await sim.wait_for_replies(customer, 1, timeout=10)
    assert client.stats.connections == 2
    assert [m.text for m in sim.messages_to(customer)] == ["收到：还在吗"]
