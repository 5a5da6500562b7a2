"""The built-in offline model: a deterministic Chinese dialogue policy (a ``FunctionModel``).

The policy plays the model's part in the ordinary agent loop, so the same agent, tools and
message history serve the offline policy and a real LLM:

1. On the customer's turn it reads the message (:func:`~ai_cs.agent.understanding.read_message`),
   looks back in the history for an operation or a find-image request still waiting for its
   picture, and picks tool calls from the first rule of :data:`FIRST_MOVES` that applies.
2. When tool results come back it may make follow-up calls (record the size stated with a
   picture, hand an unsuccessful image search to a human, open a new order when a paid one
   cannot change) and otherwise writes the reply from the results (:mod:`ai_cs.agent.replies`).

It only ever calls the agent's tools, with arguments built from its own reading; text in the
message (or in a picture) can choose among those tools but cannot add capabilities.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    RetryPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel

from ai_cs.agent import replies
from ai_cs.agent.phrases import Intent
from ai_cs.agent.understanding import Reading, read_message
from ai_cs.core.tasks import Operation

Call = tuple[str, dict[str, Any]]
Move = list[Call] | str

MAX_STEPS: Final = 8
"""Tool results after which the policy answers whatever happened (a loop guard)."""
SERVING_TOOLS: Final = frozenset(
    {"analyse_and_quote_picture", "create_task", "find_image", "change_operation"}
)
"""Tools that answer an earlier "抠图" / "找图" request: later pictures start afresh."""
OFFLINE_MODEL_NAME: Final = "aics-offline-policy"


@dataclass(frozen=True)
class Step:
    """A tool call of the current turn and what it returned."""

    tool: str
    args: dict[str, Any]
    result: dict[str, Any]


@dataclass(frozen=True)
class Context:
    """What earlier turns asked for that no tool has served yet."""

    operation: Operation | None = None
    finding: bool = False


def _as_dict(content: Any) -> dict[str, Any]:
    if isinstance(content, BaseModel):
        return content.model_dump(mode="json")
    if isinstance(content, dict):
        return content
    if isinstance(content, str):
        try:
            loaded = json.loads(content)
        except ValueError:
            return {"value": content}
        return loaded if isinstance(loaded, dict) else {"value": loaded}
    return {"value": content}


def _prompt_text(message: ModelRequest) -> str:
    texts = []
    for part in message.parts:
        if isinstance(part, UserPromptPart):
            if isinstance(part.content, str):
                texts.append(part.content)
            else:
                texts.extend(c for c in part.content if isinstance(c, str))
    return "\n".join(texts)


def _turn_start(messages: Sequence[ModelMessage]) -> int:
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, ModelRequest) and any(
            isinstance(p, UserPromptPart) for p in message.parts
        ):
            return index
    return 0


def _steps(messages: Sequence[ModelMessage]) -> list[Step]:
    calls: dict[str, ToolCallPart] = {}
    steps: list[Step] = []
    for message in messages:
        if isinstance(message, ModelResponse):
            for asked in message.parts:
                if isinstance(asked, ToolCallPart):
                    calls[asked.tool_call_id] = asked
        elif isinstance(message, ModelRequest):
            for answer in message.parts:
                if isinstance(answer, ToolReturnPart | RetryPromptPart) and answer.tool_name:
                    call = calls.get(answer.tool_call_id)
                    args = call.args_as_dict() if call is not None else {}
                    result = (
                        _as_dict(answer.content)
                        if isinstance(answer, ToolReturnPart)
                        else {"ok": False, "error": "invalid_request"}
                    )
                    steps.append(Step(answer.tool_name, args, result))
    return steps


def _tools_called(messages: Sequence[ModelMessage]) -> set[str]:
    return {
        part.tool_name
        for m in messages
        if isinstance(m, ModelResponse)
        for part in m.parts
        if isinstance(part, ToolCallPart)
    }


def context_of(earlier: Sequence[ModelMessage]) -> Context:
    """The newest unserved request of earlier turns ("我要抠图" before the picture came)."""
    starts = [
        i
        for i, m in enumerate(earlier)
        if isinstance(m, ModelRequest) and any(isinstance(p, UserPromptPart) for p in m.parts)
    ]
    if not starts:
        return Context()
    bounds = list(zip(starts, [*starts[1:], len(earlier)], strict=True))
    for start, end in reversed(bounds):
        if _tools_called(earlier[start:end]) & SERVING_TOOLS:
            break
        message = earlier[start]
        assert isinstance(message, ModelRequest)
        reading = read_message(_prompt_text(message))
        if reading.has(Intent.FIND_IMAGE):
            return Context(finding=True)
        if reading.operation is not None:
            return Context(operation=reading.operation)
    return Context()


# --- first moves: a table of (applies?, move) ----------------------------------------------------
def _tid(r: Reading) -> dict[str, Any]:
    return {"task_id": r.task_ids[0]} if r.task_ids else {}


def _details(r: Reading) -> list[Call]:
    return [
        ("set_requirement_detail", {"key": key, "value": value, **_tid(r)})
        for key, value in r.slots.items()
    ]


def _find_move(r: Reading) -> Move:
    from ai_cs.library.service import query_terms

    if r.pictures:
        return [("find_image", {"by_picture": True})]
    if query_terms(r.text):
        return [("find_image", {"query": r.text})]
    return replies.FIXED["ask_find"]


def _picture_move(r: Reading, c: Context) -> Move:
    op = r.operation or c.operation
    return [("analyse_and_quote_picture", {"operation": op.value} if op else {})]


def _detail_move(r: Reading) -> Move:
    calls: list[Call] = []
    if r.has(Intent.ADD_DETAIL) and r.note:
        calls.append(("add_requirement", {"requirement": r.note, **_tid(r)}))
    return calls + _details(r)


def _price_move(r: Reading) -> Move:
    return [("show_price_list", {"operation": r.operation.value} if r.operation else {})]


@dataclass(frozen=True)
class Situation:
    """The message just read (``r``) and what earlier turns left open (``c``)."""

    r: Reading
    c: Context


def _say(key: str) -> Callable[[Situation], Move]:
    return lambda _s: replies.FIXED[key]


def _call(tool: str, **fixed: Any) -> Callable[[Situation], Move]:
    return lambda s: [(tool, {**fixed, **_tid(s.r)})]


def _change_move(s: Situation) -> Move:
    if s.r.operation is None:
        return replies.FIXED["ask_change"]
    return [("change_operation", {"operation": s.r.operation.value, **_tid(s.r)})]


def _finding(s: Situation) -> bool:
    if s.r.has(Intent.FIND_IMAGE):
        return True
    # "帮我找原图" earlier, now the picture (or just words) without another request.
    return s.c.finding and (s.r.pictures > 0 or not s.r.intents) and not s.r.has(Intent.CHANGE)


def _adds_detail(s: Situation) -> bool:
    if s.r.has(Intent.ADD_DETAIL) and s.r.note:
        return True
    return bool(s.r.slots) and not s.r.has(Intent.ASK_PRICE, Intent.ASK_PROGRESS)


Rule = tuple[Callable[[Situation], bool], Callable[[Situation], Move]]

FIRST_MOVES: Final[tuple[Rule, ...]] = (
    (lambda s: s.r.has(Intent.HUMAN), _call("hand_to_human", reason="customer_request")),
    (lambda s: s.r.has(Intent.COMPLAINT), _call("hand_to_human", reason="complaint")),
    (lambda s: s.r.has(Intent.PAID_CLAIM, Intent.PRICE_CHANGE), _call("list_my_tasks")),
    (lambda s: s.r.has(Intent.REVISION), _call("hand_to_human", reason="revision_request")),
    (_finding, lambda s: _find_move(s.r)),
    (lambda s: s.r.pictures > 0, lambda s: _picture_move(s.r, s.c)),
    (lambda s: s.r.has(Intent.CHANGE) and s.r.operation is not None, _change_move),
    (_adds_detail, lambda s: _detail_move(s.r)),
    (lambda s: s.r.has(Intent.CHANGE), _say("ask_change")),
    (lambda s: s.r.has(Intent.ASK_PROGRESS), _call("list_my_tasks")),
    (lambda s: s.r.has(Intent.CONFIRM), _call("confirm_receipt")),
    (lambda s: s.r.has(Intent.ASK_PRICE) or s.r.operation is not None, lambda s: _price_move(s.r)),
    (lambda s: s.r.has(Intent.GREETING), _say("greeting")),
    (lambda s: s.r.has(Intent.THANKS), _say("thanks")),
)
"""The first rule that applies decides the turn's first move (tool calls or a direct reply)."""


def first_move(reading: Reading, context: Context) -> Move:
    """Tool calls (or a reply) for the start of a customer turn."""
    situation = Situation(reading, context)
    for applies, move in FIRST_MOVES:
        if applies(situation):
            result = move(situation)
            if result:
                return result
    return replies.FIXED["fallback"]


def follow_up(reading: Reading, steps: Sequence[Step]) -> list[Call]:
    """Further tool calls once results are in (none: time to reply)."""
    done = {s.tool for s in steps}
    last = steps[-1]
    result = last.result
    if (
        last.tool == "analyse_and_quote_picture"
        and result.get("ok")
        and result.get("decision") == "accept"
        and result.get("task")
    ):
        calls: list[Call] = []
        if reading.has(Intent.ADD_DETAIL) and reading.note and "add_requirement" not in done:
            calls.append(("add_requirement", {"requirement": reading.note}))
        if "set_requirement_detail" not in done:
            calls.extend(_details(reading))
        return calls
    if (
        last.tool == "find_image"
        and result.get("ok")
        and not result.get("matches")
        and "hand_to_human" not in done
    ):
        return [("hand_to_human", {"reason": "find_image_no_match"})]
    if (
        last.tool == "change_operation"
        and result.get("error") == "operation_locked"
        and reading.operation is not None
        and "create_task" not in done
    ):
        return [("create_task", {"operation": reading.operation.value})]
    return []


# --- the reply -----------------------------------------------------------------------------------
def _reply_for(step: Step, reading: Reading) -> str:
    named = "task_id" in step.args
    result = {**step.result, "named": named}
    tool = step.tool
    if tool == "analyse_and_quote_picture":
        return replies.reply_quote(result)
    if tool == "create_task":
        task = result.get("task")
        if result.get("ok") and result.get("decision") == "accept" and task:
            return (
                f"可以为您另开一单{task.get('operation_label')}：报价 {task.get('price_yuan')} 元，"
                f"订单号 {task.get('task_id')}。" + replies.next_step(task)
            )
        return ""
    if tool == "change_operation":
        return replies.reply_change(result)
    if tool == "add_requirement":
        return replies.reply_requirement(result, None)
    if tool == "set_requirement_detail":
        return replies.reply_requirement(result, str(step.args.get("key", "")))
    if tool == "list_my_tasks":
        listing = replies.reply_tasks(result, named=named)
        if reading.has(Intent.PAID_CLAIM):
            return replies.FIXED["paid_claim"] + listing
        if reading.has(Intent.PRICE_CHANGE):
            return replies.FIXED["price_fixed"] + listing
        return listing
    if tool == "confirm_receipt":
        return replies.reply_confirm(result)
    if tool == "show_price_list":
        return replies.reply_prices(result)
    if tool == "find_image":
        return replies.reply_find(result)
    if tool == "hand_to_human":
        return replies.reply_handoff({**result, "reason": step.args.get("reason")})
    return ""


def compose_reply(reading: Reading, steps: Sequence[Step]) -> str:
    """The turn's reply written from every tool result, in order, without repeats."""
    pieces: list[str] = []
    for step in steps:
        piece = _reply_for(step, reading)
        if piece and piece not in pieces:
            pieces.append(piece)
    if not pieces:
        pieces.append(replies.FIXED["fallback"])
    return replies.opening(reading, "".join(pieces))


def _respond(text: str) -> ModelResponse:
    return ModelResponse(parts=[TextPart(content=text)])


def offline_policy(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """The ``FunctionModel`` function: the next tool calls, or the reply."""
    start = _turn_start(messages)
    current = messages[start:]
    first = current[0] if current else None
    prompt = _prompt_text(first) if isinstance(first, ModelRequest) else ""
    reading = read_message(prompt)
    steps = _steps(current)
    available = {tool.name for tool in info.function_tools}

    if not steps:
        move = first_move(reading, context_of(messages[:start]))
        if isinstance(move, str):
            return _respond(replies.opening(reading, move))
        calls = move
    elif (
        len(steps) >= MAX_STEPS
        or not isinstance(messages[-1], ModelRequest)
        or any(isinstance(p, RetryPromptPart) for p in messages[-1].parts)
    ):
        calls = []
    else:
        calls = follow_up(reading, steps)
    calls = [(name, args) for name, args in calls if name in available]
    if not calls:
        return _respond(compose_reply(reading, steps))
    return ModelResponse(parts=[ToolCallPart(tool_name=name, args=args) for name, args in calls])


async def _offline_policy(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    # Async so the model runs on the event loop: the policy is quick pure Python, and a sync
    # function would cost a worker-thread hop per step.
    return offline_policy(messages, info)


def offline_model() -> FunctionModel:
    """The built-in offline model (no network, deterministic)."""
    return FunctionModel(_offline_policy, model_name=OFFLINE_MODEL_NAME)
