"""One pause: the conversation row is the only place the AI's manual takeover lives.

Staff pausing a chat (console, API), a seller typing in the platform's app and the gateway's
lanes all meet at ``conversations.takeover_until``; there is no second store to fall out of step.
"""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from gateway_helpers import EchoHandler, make_client, running
from sqlalchemy import inspect, text, update
from sqlalchemy.orm import Session

from ai_cs.clock import FixedClock
from ai_cs.conversations import service as conversations
from ai_cs.conversations.models import Conversation
from ai_cs.db.database import Database
from ai_cs.db.migrate import alembic_config, upgrade
from ai_cs.gateway.sim import Customer, GatewaySimulator
from ai_cs.workflow import Workflow

BUYER = Customer(id="pause-1", conversation_id="chat-p1", account_id="shop-1")


def _pause_in_row(wf: Workflow, until: float | None) -> None:
    """Write the pause straight into the conversation row, as nothing but that row holds it."""
    wf.db.run_write(
        lambda s: s.execute(
            update(Conversation)
            .where(Conversation.chat_id == BUYER.conversation)
            .values(takeover_until=until, taken_over_by="客服小王" if until else None)
        )
    )


@pytest.mark.anyio
async def test_the_lanes_obey_the_conversation_row_and_nothing_else(
    gw_workflow: Workflow, sim: GatewaySimulator
) -> None:
    handler = EchoHandler()
    async with running(make_client(gw_workflow, sim, handler)) as client:
        await sim.say(BUYER, "第一句")
        assert await sim.wait_for_replies(BUYER, 1)
        _pause_in_row(gw_workflow, gw_workflow.clock.epoch() + 600)
        await sim.say(BUYER, "第二句")
        assert await sim.wait_for(lambda: len(set(sim.record.acks)) == 2)
        assert await client.processor.idle(10)
        await asyncio.sleep(0.2)
        assert [m.text for m in sim.messages_to(BUYER)] == ["收到：第一句"]  # quiet: paused

        _pause_in_row(gw_workflow, None)  # handed back: the very next turn is answered
        await sim.say(BUYER, "第三句")
        assert await sim.wait_for_replies(BUYER, 2)
    assert [m.text for m in sim.messages_to(BUYER)] == ["收到：第一句", "收到：第三句"]
    assert [t.text for t in handler.turns] == ["第一句", "第三句"]
    with gw_workflow.db.read() as s:
        rows, _ = conversations.list_messages(s, BUYER.conversation)
    # What the customer wrote while paused is kept for staff.
    assert ("customer", "第二句") in [(m["role"], m["text"]) for m in rows]


@pytest.mark.anyio
async def test_a_seller_typing_pauses_the_conversation_row(
    gw_workflow: Workflow, sim: GatewaySimulator
) -> None:
    async with running(make_client(gw_workflow, sim, EchoHandler())) as client:
        await sim.say(BUYER, "在吗")
        assert await sim.wait_for_replies(BUYER, 1)
        await sim.seller_says(BUYER, "我是店主，我来")
        assert await sim.wait_for(lambda: len(set(sim.record.acks)) == 2)
        assert await client.processor.idle(10)
    with gw_workflow.db.read() as s:
        until = conversations.chat_paused_until(
            s, gw_workflow.clock, platform="xianyu", account_id="shop-1", chat_id="chat-p1"
        )
        conv = conversations.find_conversation(
            s, platform="xianyu", account_id="shop-1", chat_id="chat-p1"
        )
        assert conv is not None
        rows, _ = conversations.list_messages(s, conv.conversation_id)
    assert until is not None and until > gw_workflow.clock.epoch() + 29 * 60
    assert conv.taken_over_by == "店主"
    assert ("staff", "我是店主，我来") in [(m["role"], m["text"]) for m in rows]


def test_an_active_gateway_pause_is_carried_into_its_conversation_and_the_table_goes(
    database_url: str, clock: FixedClock
) -> None:
    db = Database(database_url)
    cfg = alembic_config(db.url)
    until = clock.epoch() + 3600
    with db.writer.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "c0002")
        command.upgrade(cfg, "g0001")
        for chat in ("chat-a", "chat-b"):
            conn.execute(
                text(
                    "INSERT INTO conversations (conversation_id, chat_id, platform, account_id,"
                    " customer_id, needs_human, declines, created_at, updated_at)"
                    " VALUES (:c, :c, 'xianyu', 'shop-1', 'buyer-1', 0, 0, 'x', 'x')"
                ),
                {"c": chat},
            )
        conn.execute(
            text(
                "INSERT INTO gateway_takeovers (account_id, conversation_id, paused_until,"
                " taken_by, started_at) VALUES ('shop-1', 'chat-a', :u, '店主', 'x')"
            ),
            {"u": until},
        )
    upgrade(db)

    def check(session: Session) -> None:
        a = conversations.get_conversation_row(session, "chat-a")
        b = conversations.get_conversation_row(session, "chat-b")
        assert (a.takeover_until, a.taken_over_by) == (until, "店主")
        assert b.takeover_until is None
        assert "gateway_takeovers" not in inspect(session.connection()).get_table_names()

    db.run_write(check)
    db.dispose()
