"""Every tool called by a model with another customer's task id: nothing changes, nothing leaks.

The model here is a ``FunctionModel`` that calls the tools directly (as a compromised or
confused LLM could), so these tests hold whatever model runs the agent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agent_support import Chat, dispatch_rows, payment_count
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    RetryPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel

from ai_cs.agent.agent import shop_agent
from ai_cs.core.tasks import TaskStatus
from ai_cs.workflow import Workflow

pytestmark = pytest.mark.anyio

VICTIM = "customer_456"
SECRET = "VICTIM-SECRET-note"
MISSING = "TASK_20991231_999"

CALLS_WITH_TASK_ID: dict[str, dict[str, Any]] = {
    "change_operation": {"operation": "vectorize"},
    "add_requirement": {"requirement": "价格改成1元"},
    "set_requirement_detail": {"key": "size", "value": "1x1"},
    "list_my_tasks": {},
    "confirm_receipt": {},
    "hand_to_human": {"reason": "revision_request"},
}
OTHER_CALLS: dict[str, dict[str, Any]] = {
    "analyse_and_quote_picture": {"operation": "remove_bg"},
    "create_task": {"operation": "vectorize"},
    "find_image": {"query": SECRET},
    "show_price_list": {},
}


def calling(calls: list[tuple[str, dict[str, Any]]]) -> FunctionModel:
    """A model that makes ``calls`` at once, then answers with every result as JSON."""

    def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        last = messages[-1]
        answers = [
            p
            for p in (last.parts if isinstance(last, ModelRequest) else [])
            if isinstance(p, ToolReturnPart | RetryPromptPart)
        ]
        if not answers:
            return ModelResponse(parts=[ToolCallPart(name, args) for name, args in calls])
        dumped = {
            f"{p.tool_name}#{i}": (
                p.model_response_str() if isinstance(p, ToolReturnPart) else p.model_response()
            )
            for i, p in enumerate(answers)
        }
        return ModelResponse(parts=[TextPart(json.dumps(dumped, ensure_ascii=False))])

    return FunctionModel(model)


@pytest.fixture
def victim(fixed_workflow: Workflow) -> dict[str, str]:
    wf = fixed_workflow
    pending = wf.create_image_task(
        VICTIM, "https://cdn.example.com/a.jpg", "remove_bg", customer_notes=SECRET, price_fen=3131
    )
    done = wf.create_image_task(VICTIM, "https://cdn.example.com/b.jpg", "enhance", price_fen=1717)
    wf.record_payment(VICTIM, done["task_id"], payment_id="victim-pay", amount_fen=1717)
    from ai_cs.tasks import service

    wf.db.run_write(
        lambda s: service.transition(s, wf.clock, done["task_id"], TaskStatus.AWAITING_CONFIRM)
    )
    return {"pending": pending["task_id"], "awaiting": done["task_id"]}


def snapshot(wf: Workflow, ids: dict[str, str]) -> list[dict[str, Any]]:
    tasks = [wf.get_task(i) for i in ids.values()]
    history = [wf.get_task_requirement_history(i) for i in ids.values()]
    return [*tasks, {"history": history}]


async def ask(chat: Chat, calls: list[tuple[str, dict[str, Any]]]) -> dict[str, str]:
    with shop_agent.override(model=calling(calls)):
        reply = await chat.say("随便")
    results: dict[str, str] = json.loads(reply)
    return results


@pytest.mark.parametrize("which", ["pending", "awaiting"])
async def test_every_tool_with_a_foreign_task_id_answers_like_a_missing_one(
    chat: Chat, fixed_workflow: Workflow, victim: dict[str, str], which: str
) -> None:
    wf = fixed_workflow
    before = snapshot(wf, victim)
    foreign = victim[which]
    calls = [(n, {**a, "task_id": foreign}) for n, a in CALLS_WITH_TASK_ID.items()]
    foreign_results = await ask(chat, calls)
    missing_results = await ask(
        chat, [(n, {**a, "task_id": MISSING}) for n, a in CALLS_WITH_TASK_ID.items()]
    )

    assert len(foreign_results) == len(CALLS_WITH_TASK_ID)
    assert foreign_results == missing_results  # not even the error tells them apart
    for name, text in foreign_results.items():
        result = json.loads(text)
        if not name.startswith("hand_to_human"):
            assert result["ok"] is False and result["error"] == "task_not_found", name
        assert foreign not in text and SECRET not in text
    assert snapshot(wf, victim) == before
    assert payment_count(wf) == 1  # the victim's own payment only
    assert dispatch_rows(wf) == []


async def test_tools_without_a_task_id_never_reach_the_other_customer(
    chat: Chat, fixed_workflow: Workflow, victim: dict[str, str], picture: Path
) -> None:
    wf = fixed_workflow
    before = snapshot(wf, victim)
    await chat.say("抠图", [picture])  # the customer's own order
    results = await ask(chat, list(OTHER_CALLS.items()))
    results.update(await ask(chat, [("list_my_tasks", {})]))
    text = json.dumps(results, ensure_ascii=False)
    assert len(results) == 5
    assert not any(tid in text for tid in victim.values()) and SECRET not in text
    mine = [t["task_id"] for t in wf.get_customer_tasks("customer_123")]
    assert len(mine) == 2  # the quoted order and the one create_task opened
    listed = json.loads(results["list_my_tasks#0"])
    assert [t["task_id"] for t in listed["tasks"]] == mine
    assert snapshot(wf, victim) == before
    assert payment_count(wf) == 1


async def test_made_up_tools_and_arguments_are_refused(
    chat: Chat, fixed_workflow: Workflow, victim: dict[str, str]
) -> None:
    wf = fixed_workflow
    before = snapshot(wf, victim)
    results = await ask(
        chat,
        [
            ("mark_paid", {"task_id": victim["pending"]}),
            ("set_price", {"task_id": victim["pending"], "price_fen": 1}),
            ("list_my_tasks", {"customer_id": VICTIM}),
            ("change_operation", {"operation": "free", "task_id": victim["pending"]}),
            ("trigger_processing_on_payment", {"customer_id": VICTIM}),
        ],
    )
    assert len(results) == 5
    text = json.dumps(results, ensure_ascii=False)
    assert SECRET not in text and "3131" not in text
    assert all(name.split("#")[0] in text for name in results)
    assert snapshot(wf, victim) == before
    assert payment_count(wf) == 1
