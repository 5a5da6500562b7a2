"""Hand to a human, manual takeover, memory across restarts, one customer per conversation."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_support import Chat, conversation, dispatch_rows, memory_json, messages

from ai_cs.agent.handler import AgentHandler
from ai_cs.clock import FixedClock
from ai_cs.config import Settings
from ai_cs.conversations import service as conversations
from ai_cs.conversations.service import ConversationCustomerMismatch
from ai_cs.core.tasks import Operation, TaskStatus
from ai_cs.imaging.ocr import StaticOcr
from ai_cs.tasks import service
from ai_cs.workflow import Workflow

pytestmark = pytest.mark.anyio


async def test_asking_for_a_human_hands_the_conversation_over(
    chat: Chat, fixed_workflow: Workflow
) -> None:
    reply = await chat.say("我要人工客服")
    conv = conversation(fixed_workflow, "conv_123")
    assert conv.needs_human == 1
    assert conv.needs_human_reason == "客户要求人工客服"
    assert ("out", "system", "[转人工] 客户要求人工客服") in messages(fixed_workflow, "conv_123")
    assert "人工客服" in reply
    assert dispatch_rows(fixed_workflow) == []  # no paid order: nothing for a designer

    # Staff hand it back: the flag clears.
    fixed_workflow.db.run_write(
        lambda s: conversations.hand_back(s, fixed_workflow.clock, "conv_123")
    )
    assert conversation(fixed_workflow, "conv_123").needs_human == 0


async def test_revision_request_sends_the_finished_order_to_a_designer(
    chat: Chat, fixed_workflow: Workflow, picture: Path
) -> None:
    wf = fixed_workflow
    await chat.say("抠图", [picture])
    task = wf.get_customer_tasks("customer_123")[0]
    wf.record_payment(
        "customer_123", task["task_id"], payment_id="p1", amount_fen=task["price_fen"]
    )
    wf.db.run_write(
        lambda s: service.transition(s, wf.clock, task["task_id"], TaskStatus.AWAITING_CONFIRM)
    )
    reply = await chat.say("不满意，边缘没抠干净，重做")
    after = wf.get_task(task["task_id"])
    assert after["status"] == TaskStatus.WITH_DESIGNER
    # The designer gets the customer's words with the reason: what to change.
    assert after["designer_reason"] == "客户对结果不满意，要求修改：不满意，边缘没抠干净，重做"
    assert dispatch_rows(wf) == [f"dispatch:{task['task_id']}:1"]
    assert conversation(wf, "conv_123").needs_human == 1
    assert task["task_id"] in reply and "设计师" in reply


async def test_complaint_without_an_order_flags_the_chat(
    chat: Chat, fixed_workflow: Workflow
) -> None:
    reply = await chat.say("你们太慢了，我要投诉")
    assert conversation(fixed_workflow, "conv_123").needs_human_reason == "客户投诉"
    assert "抱歉" in reply


async def test_seller_message_pauses_the_ai_until_the_takeover_ends(
    chat: Chat, fixed_workflow: Workflow, clock: FixedClock, settings: Settings
) -> None:
    await chat.say("你好")
    seller = await chat.handler.handle(chat.message("亲，我来帮您看看", role="seller"))
    assert seller == []
    conv = conversation(fixed_workflow, "conv_123")
    assert conv.takeover_until == pytest.approx(clock.epoch() + settings.takeover_minutes * 60)

    assert await chat.say("多少钱") == ""  # paused: stored, not answered
    assert messages(fixed_workflow, "conv_123")[-2:] == [
        ("out", "staff", "亲，我来帮您看看"),
        ("in", "customer", "多少钱"),
    ]
    clock.advance(settings.takeover_minutes * 60 + 1)
    reply = await chat.say("多少钱")
    assert "抠图去背景" in reply
    assert messages(fixed_workflow, "conv_123")[-1] == ("out", "ai", reply)


async def test_staff_takeover_and_hand_back(chat: Chat, fixed_workflow: Workflow) -> None:
    await chat.say("你好")
    fixed_workflow.db.run_write(
        lambda s: conversations.take_over(
            s, fixed_workflow.clock, "conv_123", minutes=10, by="店长"
        )
    )
    assert conversation(fixed_workflow, "conv_123").taken_over_by == "店长"
    assert await chat.say("在吗") == ""
    fixed_workflow.db.run_write(
        lambda s: conversations.hand_back(s, fixed_workflow.clock, "conv_123")
    )
    assert await chat.say("在吗") != ""


async def test_memory_survives_a_restart(
    fixed_workflow: Workflow,
    database_url: str,
    settings: Settings,
    clock: FixedClock,
    picture: Path,
) -> None:
    first = Chat(AgentHandler(fixed_workflow, ocr=StaticOcr(), allow_local_files=True))
    await first.say("我要转矢量图")
    assert "转矢量图" in memory_json(fixed_workflow, "conv_123")

    # A new process: new workflow, new handler, same database.
    restarted = Workflow(database_url=database_url, settings=settings, clock=clock)
    try:
        second = Chat(AgentHandler(restarted, ocr=StaticOcr(), allow_local_files=True))
        await second.say("", [picture])  # the picture alone: the job comes from memory
        task = restarted.get_customer_tasks("customer_123")[0]
        assert task["operation"] == Operation.VECTORIZE
    finally:
        restarted.close()


async def test_memory_is_trimmed_to_recent_turns(chat: Chat, fixed_workflow: Workflow) -> None:
    for i in range(conversations.MEMORY_TURNS + 5):
        await chat.say(f"你好 {i}")
    with fixed_workflow.db.read() as session:
        kept = conversations.load_memory(session, "conv_123")
    prompts = [
        m
        for m in kept
        if m.kind == "request" and any(p.part_kind == "user-prompt" for p in m.parts)
    ]
    assert len(prompts) == conversations.MEMORY_TURNS
    assert '你好 4"' not in memory_json(fixed_workflow, "conv_123")
    assert f"你好 {conversations.MEMORY_TURNS + 4}" in memory_json(fixed_workflow, "conv_123")


async def test_a_conversation_belongs_to_one_customer(chat: Chat, handler: AgentHandler) -> None:
    await chat.say("你好")
    intruder = Chat(handler, customer_id="customer_456")  # same conversation id
    with pytest.raises(ConversationCustomerMismatch):
        await intruder.say("你好")


async def test_empty_turn_is_ignored(chat: Chat, fixed_workflow: Workflow) -> None:
    assert await chat.say("   ") == ""
    with fixed_workflow.db.read() as session:
        assert conversations.list_conversations(session, fixed_workflow.clock)[1] == 0
