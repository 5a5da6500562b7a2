"""A buyer id means one person only inside one shop: the agent acts on that shop's orders only.

The same buyer id in another shop account (or on another platform) is somebody else; from that
chat, this shop's orders can be neither seen nor confirmed nor changed (issue 18 item 2) — by the
offline assistant, and by a model calling the tools with the order's id.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agent_support import Chat
from llm_server import ScriptedLLM, calls, serve, text, tool_results
from pydantic_ai.models import override_allow_model_requests

from ai_cs.agent.handler import AgentHandler
from ai_cs.config import Settings
from ai_cs.core.tasks import TaskStatus
from ai_cs.imaging.ocr import StaticOcr
from ai_cs.tasks import service
from ai_cs.workflow import Workflow

pytestmark = pytest.mark.anyio


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with serve(ScriptedLLM()) as server:
        yield server


def _awaiting_confirm_in_shop_a(wf: Workflow) -> str:
    task = wf.create_image_task(
        "customer_123",
        "https://example.com/a.jpg",
        "enhance",
        price_fen=2500,
        acc_id="shop_a",
        acc_type="xianyu",
        conversation_id="conv_a",
    )
    tid = str(task["task_id"])
    wf.record_payment("customer_123", tid, payment_id="p1", amount_fen=2500)
    wf.db.run_write(lambda s: service.transition(s, wf.clock, tid, TaskStatus.AWAITING_CONFIRM))
    return tid


async def test_the_offline_assistant_in_another_shop_does_not_see_or_confirm_the_order(
    handler: AgentHandler, fixed_workflow: Workflow
) -> None:
    wf = fixed_workflow
    own = Chat(handler, conversation_id="conv_a", account_id="shop_a")
    await own.say("你好")  # the chat is shop A's on 闲鱼
    tid = _awaiting_confirm_in_shop_a(wf)
    for stranger in (
        Chat(handler, conversation_id="conv_b", account_id="shop_b"),
        Chat(handler, conversation_id="conv_a", account_id="shop_a", platform="taobao"),
    ):
        assert tid not in await stranger.say("我的订单")
        await stranger.say(f"确认收货 {tid}")
        assert wf.get_task(tid)["status"] == TaskStatus.AWAITING_CONFIRM
    assert tid in await own.say("我的订单")


async def test_tool_calls_from_another_shop_with_the_same_buyer_id_change_nothing(
    fixed_workflow: Workflow, settings: Settings, llm: ScriptedLLM
) -> None:
    wf = fixed_workflow
    tid = _awaiting_confirm_in_shop_a(wf)
    llm.script = [
        calls(
            ("list_my_tasks", {}),
            ("list_my_tasks", {"task_id": tid}),
            ("change_operation", {"operation": "vectorize", "task_id": tid}),
            ("confirm_receipt", {"task_id": tid}),
        ),
        text("好的"),
    ]
    configured = settings.model_copy(
        update={"llm_model": "alibaba:qwen-plus", "llm_base_url": llm.url, "llm_api_key": "k"}
    )
    handler = AgentHandler(wf, settings=configured, ocr=StaticOcr(), allow_local_files=True)
    stranger = Chat(handler, conversation_id="conv_b", account_id="shop_b")
    with override_allow_model_requests(True):
        await stranger.say(f"确认收货 {tid}")
    assert wf.get_task(tid)["status"] == TaskStatus.AWAITING_CONFIRM
    assert wf.get_task(tid)["operation"] == "enhance"
    results = [r for body in llm.requests for r in tool_results(body)]
    assert [r["error"] for r in results] == [None, *["task_not_found"] * 3]
    assert tid not in str(results)  # "not found", and not a word about the order


async def test_a_reply_may_not_state_another_shops_order_price(
    fixed_workflow: Workflow, settings: Settings, llm: ScriptedLLM
) -> None:
    """The reply's price check allows this shop's orders' prices, not another shop's."""
    wf = fixed_workflow
    wf.create_image_task(
        "customer_123",
        "https://example.com/a.jpg",
        "enhance",
        price_fen=3170,
        acc_id="shop_a",
        acc_type="xianyu",
    )
    configured = settings.model_copy(
        update={"llm_model": "alibaba:qwen-plus", "llm_base_url": llm.url, "llm_api_key": "k"}
    )
    handler = AgentHandler(wf, settings=configured, ocr=StaticOcr(), allow_local_files=True)
    llm.script = [text("您的订单是 31.7 元哦")]
    with override_allow_model_requests(True):
        elsewhere = await Chat(handler, conversation_id="conv_b", account_id="shop_b").say("多少钱")
    assert "31.7" not in elsewhere
    llm.script = [text("您的订单是 31.7 元哦")]
    with override_allow_model_requests(True):
        here = await Chat(handler, conversation_id="conv_a", account_id="shop_a").say("多少钱")
    assert here == "您的订单是 31.7 元哦"
