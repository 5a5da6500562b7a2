"""The conversation transcript shows every message the customer received (issue 13 item 5).

A whole order through the gateway simulator — picture, quote, payment (delivered several times,
and once more under another event id), processing, the result's preview and link — with the
shop's agent, a worker and the delivery loop. Every message to a customer goes through the
conversation outbox, so what staff read in the transcript is exactly what the customer got: the
same messages, in the same order, each once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from gateway_helpers import make_client, running

from ai_cs.agent.handler import AgentHandler
from ai_cs.conversations import service as conversations
from ai_cs.gateway.delivery import ResultDelivery
from ai_cs.gateway.sim import Customer, GatewaySimulator, demo_picture
from ai_cs.imaging.ocr import StaticOcr
from ai_cs.processing.worker import Worker
from ai_cs.workflow import Workflow

pytestmark = pytest.mark.anyio

RECEIPT = "已收到您的付款"
BUYER = Customer(id="buyer-t1", nick="小李", conversation_id="chat-t1", account_id="shop-1")


@contextlib.asynccontextmanager
async def shop_running(wf: Workflow, sim: GatewaySimulator) -> AsyncIterator[None]:
    """Gateway client with the agent, result delivery and a worker, as ``aics serve`` runs them."""
    client = make_client(wf, sim, AgentHandler(wf, ocr=StaticOcr()))
    stop = asyncio.Event()
    delivery = ResultDelivery(
        wf.db, wf.clock, wf.settings, on_queued=client.outbox_changed, poll_seconds=0.2
    )
    worker = Worker(wf.db, wf.clock, wf.settings)
    background = [
        asyncio.create_task(delivery.run(stop)),
        asyncio.create_task(worker.run_forever(stop, idle_sleep=0.1)),
    ]
    try:
        async with running(client):
            yield
    finally:
        stop.set()
        await asyncio.gather(*background)


def _transcript_out(wf: Workflow) -> list[tuple[str, str]]:
    """``(role, text)`` of every message the transcript says went to the customer, in order."""
    with wf.db.read() as s:
        conv = conversations.find_conversation(
            s, platform=BUYER.platform, account_id=BUYER.account_id, chat_id=BUYER.conversation
        )
        assert conv is not None
        rows, _ = conversations.list_messages(s, conv.conversation_id, limit=1000)
    return [
        (m["role"], m["text"]) for m in rows if m["direction"] == "out" and m["role"] != "system"
    ]


async def test_the_transcript_holds_every_message_the_customer_received_once_in_order(
    gw_workflow: Workflow, sim: GatewaySimulator
) -> None:
    wf = gw_workflow
    picture = sim.add_picture("poster.png", demo_picture("SALE 50%"))
    async with shop_running(wf, sim):
        await sim.send_picture(BUYER, picture, text="你好，这张图帮我抠图", width=800, height=600)
        assert await sim.wait_for_replies(BUYER, 1, timeout=60)
        (task,) = wf.get_customer_tasks(BUYER.id)
        price = int(task["price_fen"])

        paid = await sim.pay(BUYER, "order-t1", price, duplicates=3)
        assert await sim.wait_for(
            lambda: any(RECEIPT in m.text for m in sim.messages_to(BUYER)), timeout=30
        )
        await sim.redeliver(paid, copies=2)  # the gateway lost our ack
        await sim.pay(BUYER, "order-t1", price)  # the same payment under a new event id
        assert await sim.wait_for(
            lambda: any("/r/" in m.text for m in sim.messages_to(BUYER)), timeout=90
        ), f"no result link; task is {wf.get_task(task['task_id'])['status']}"
        await sim.say(BUYER, "收到啦")
        assert await sim.wait_for(lambda: sim.unacked == set(), timeout=30)
        await asyncio.sleep(0.5)  # room for a wrong second copy to show up

    received = [m.text for m in sim.messages_to(BUYER)]
    transcript = _transcript_out(wf)
    assert [text for _role, text in transcript] == received
    assert {role for role, _text in transcript} == {"ai"}
    assert len(received) == len(set(received))  # each message once
    assert len([t for t in received if RECEIPT in t]) == 1  # five deliveries, one receipt
    assert "效果预览（带水印）" in received  # the result's preview picture …
    assert any(task["task_id"] in t and "/r/" in t for t in received)  # … and its link
    assert received.index("效果预览（带水印）") > received.index(
        next(t for t in received if RECEIPT in t)
    )
