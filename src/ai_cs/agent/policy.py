"""The built-in offline model: a deterministic Chinese dialogue policy (a ``FunctionModel``).

The policy plays the model's part in the ordinary agent loop, so the same agent, tools and
message history serve the offline policy and a real LLM. Each customer turn:

1. It reads the conversation's state first (``conversation_state``: the open orders and the
   picture each belongs to, the pictures sent, the current order).
2. It reads the message (:func:`~ai_cs.agent.understanding.read_message`: several intents, the
   operations, the details) together with what earlier turns asked and no tool has served yet
   (an operation or details given before the picture: :func:`context_of`).
3. It plans the turn against the state (:func:`plan`): words that would forge a document are
   screened and declined; hand-offs go to staff; new pictures are quoted one by one with the
   job named before, with or after them; an operation named after a picture changes that
   picture's pending order; details go onto the order they belong to; questions (price,
   delivery time, formats, capability, progress) are answered from tool results.
4. When the results are in it writes one reply (:func:`compose_reply`): what was done, the
   price, the next step, with nothing said twice.

It only ever calls the agent's tools, with arguments built from its own reading; text in the
message (or in a picture) can choose among those tools but cannot add capabilities. Tool results
are read through their result models (:data:`~ai_cs.agent.tools.RESULT_MODELS`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel, ValidationError
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
from ai_cs.agent.tools import (
    RESULT_MODELS,
    ChangeResult,
    FindImageResult,
    QuoteResult,
    StateResult,
    TaskView,
    ToolName,
)
from ai_cs.agent.turn import Context, Step
from ai_cs.agent.understanding import Details, Reading, find_details, read_message
from ai_cs.core.risk import Decision, RiskInput, assess_risk
from ai_cs.core.tasks import Operation

T = ToolName
Call = tuple[str, dict[str, Any]]

MAX_STEPS: Final = 16
"""Tool results after which the policy answers whatever happened (a loop guard)."""
SERVING_TOOLS: Final = frozenset(
    {T.ANALYSE_AND_QUOTE_PICTURE, T.CREATE_TASK, T.FIND_IMAGE, T.CHANGE_OPERATION}
)
"""Tools that answer an earlier "抠图" / "找图" request: what was asked before them is served."""
OFFLINE_MODEL_NAME: Final = "aics-offline-policy"
FINISHED: Final = frozenset({"awaiting_confirm", "completed", "with_designer"})
PAID_STATES: Final = frozenset({"paid", "processing", "awaiting_confirm", "completed"})


def _as_model(tool: str, content: Any) -> BaseModel | None:
    try:
        model = RESULT_MODELS[ToolName(tool)]
    except ValueError:
        return None
    if isinstance(content, model):
        return content
    try:
        if isinstance(content, str):
            return model.model_validate(json.loads(content))
        if isinstance(content, BaseModel):
            return model.model_validate(content.model_dump(mode="json"))
        return model.model_validate(content)
    except (ValidationError, ValueError):
        return None


def _prompt_text(message: ModelRequest) -> str:
    texts = []
    for part in message.parts:
        if isinstance(part, UserPromptPart):
            if isinstance(part.content, str):
                texts.append(part.content)
            else:
                texts.extend(c for c in part.content if isinstance(c, str))
    return "\n".join(texts)


def _is_turn_start(message: ModelMessage) -> bool:
    return isinstance(message, ModelRequest) and any(
        isinstance(p, UserPromptPart) for p in message.parts
    )


def _turn_start(messages: Sequence[ModelMessage]) -> int:
    for index in range(len(messages) - 1, -1, -1):
        if _is_turn_start(messages[index]):
            return index
    return 0


def steps_of(messages: Sequence[ModelMessage]) -> list[Step]:
    """The tool calls in ``messages`` with their typed results (a refused call has none)."""
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
                        _as_model(answer.tool_name, answer.content)
                        if isinstance(answer, ToolReturnPart)
                        else None
                    )
                    steps.append(Step(answer.tool_name, args, result))
    return steps


POINTING_AT_A_PICTURE: Final = (
    "这个",
    "这张",
    "这款",
    "这种",
    "这幅",
    "图上",
    "图中",
    "图里",
    "同款",
)
"""Words of a find request about a picture not sent yet ("有没有这个商品的高清原图"): it waits."""


def context_of(earlier: Sequence[ModelMessage]) -> Context:
    """Requests of earlier turns still waiting for a picture.

    The operation, the details given before it ("要做成800×800白底的主图"), or a find-image
    request; and the job the customer named for the picture before ("两张都抠" with the
    pictures sent one by one: the second is a cut-out too, not the enhance guess).
    """
    starts = [i for i, m in enumerate(earlier) if _is_turn_start(m)]
    if not starts:
        return Context()
    operation: Operation | None = None
    details: dict[str, str] = {}
    bounds = list(zip(starts, [*starts[1:], len(earlier)], strict=True))
    previous_job: Operation | None = None
    for start, end in reversed(bounds):
        steps = steps_of(earlier[start:end])
        if {s.tool for s in steps} & SERVING_TOOLS:
            previous_job = _named_job(steps)
            break
        message = earlier[start]
        assert isinstance(message, ModelRequest)
        reading = read_message(_prompt_text(message))
        if reading.has(Intent.FIND_IMAGE):
            return Context(finding=True)
        if reading.has(Intent.RETOUCH) and any(s.tool == T.HAND_TO_HUMAN for s in steps):
            return Context(with_staff=True)
        operation = operation or reading.operation
        details = {**reading.details.values, **details}
    return Context(operation=operation, details=details, previous_job=previous_job)


def _named_job(steps: Sequence[Step]) -> Operation | None:
    """The job a served turn quoted or changed a picture's order to, when the customer named it."""
    for step in reversed(steps):
        named = step.args.get("operation")
        if step.tool in (T.ANALYSE_AND_QUOTE_PICTURE, T.CHANGE_OPERATION) and named and step.ok():
            return Operation(named)
    return None


# --- the state, as the policy reads it ---------------------------------------------------------
@dataclass(frozen=True)
class View:
    """The conversation's state and this message, read together."""

    r: Reading
    s: StateResult
    c: Context

    @property
    def pending(self) -> list[TaskView]:
        """Orders of this conversation still waiting for payment, oldest first."""
        return [o for o in self.s.orders if o.status == "pending"]

    def current(self) -> TaskView | None:
        """The order a message without a picture or an id is about."""
        if self.r.task_ids:
            return next((o for o in self.s.orders if o.task_id == self.r.task_ids[0]), None)
        pending = self.pending
        named = next((o for o in pending if o.task_id == self.s.current_task_id), None)
        if named is not None:
            return named
        if pending:
            return pending[-1]
        current = next((o for o in self.s.orders if o.task_id == self.s.current_task_id), None)
        return current or (self.s.orders[-1] if self.s.orders else None)

    def picture_of(self, index: int) -> int | None:
        """The picture a buyer's 第N张 means.

        The Nth of the last message's pictures; when the message counts past them, the Nth of
        the pictures whose orders wait for payment, oldest first (pictures sent one each).
        """
        batch = self.s.last_batch
        if max(self.r.per_picture, default=index) > len(batch) or index > len(batch):
            batch = sorted({o.picture for o in self.pending if o.picture is not None})
        return batch[index - 1] if 0 < index <= len(batch) else None

    def order_of_picture(self, number: int) -> TaskView | None:
        """The newest order opened for picture ``number``."""
        found = [o for o in self.s.orders if o.picture == number]
        return found[-1] if found else None

    def finished(self) -> TaskView | None:
        """The newest order that is paid and done or being done."""
        done = [o for o in self.s.orders if o.status in FINISHED | PAID_STATES]
        return done[-1] if done else None


def _tid(r: Reading) -> dict[str, Any]:
    return {"task_id": r.task_ids[0]} if r.task_ids else {}


def _details(values: dict[str, str], task_id: str | None) -> list[Call]:
    target = {"task_id": task_id} if task_id else {}
    return [
        (T.SET_REQUIREMENT_DETAIL, {"key": key, "value": value, **target})
        for key, value in values.items()
    ]


def _op_args(op: Operation | None) -> dict[str, Any]:
    return {"operation": op.value} if op else {}


def screened(r: Reading) -> Decision:
    """The risk table's decision on the words alone (forgery, others' watermarks)."""
    return assess_risk(RiskInput(request_text=r.text)).decision


def _handoff(v: View) -> list[Call]:
    r = v.r
    if r.has(Intent.HUMAN):
        return [(T.HAND_TO_HUMAN, {"reason": "customer_request", **_tid(r)})]
    paid = any(o.status in PAID_STATES for o in v.s.orders if r.cancels(o.picture))
    if r.has(Intent.REFUND) or (r.has(Intent.CANCEL) and paid):
        return [(T.HAND_TO_HUMAN, {"reason": "refund", **_tid(r)})]
    if r.has(Intent.RETOUCH) and r.operation is None:
        return [(T.HAND_TO_HUMAN, {"reason": "retouch", "note": r.note, **_tid(r)})]
    finished = v.finished()
    if r.has(Intent.COMPLAINT) and (finished is not None or not (r.operation or r.pictures)):
        # "画质太差了 提升一下" with a picture is a job; a complaint is about the shop's work.
        return [(T.HAND_TO_HUMAN, {"reason": "complaint", **_tid(r)})]
    if r.has(Intent.REVISION) and finished is not None and finished.status in FINISHED:
        return [(T.HAND_TO_HUMAN, {"reason": "revision_request", "note": r.note, **_tid(r)})]
    return []


def _picture_jobs(v: View) -> list[tuple[int, Operation | None]]:
    """The pictures of this message and the job each is for."""
    r, c = v.r, v.c
    if c.with_staff and r.operation is None:
        return []  # the pictures for a retouch staff took: they quote them
    default = r.operation or c.operation or c.previous_job
    jobs = []
    for index, number in enumerate(v.s.this_turn, start=1):
        jobs.append((number, r.per_picture.get(index, default)))
    return jobs


def _named_jobs(v: View) -> list[Call]:
    """An operation named without a new picture.

    It changes the order(s) it points at, or opens one for a picture that has none yet.
    """
    r, s = v.r, v.s
    targets: list[tuple[int | None, Operation]] = []
    if r.per_picture and (s.last_batch or v.pending):
        for index, op in r.per_picture.items():
            number = v.picture_of(index)
            if number is not None:
                targets.append((number, op))
    elif "all" in r.details.pictures and s.last_batch and r.operation is not None:
        targets = [(number, r.operation) for number in s.last_batch]
    elif r.operation is not None:
        current = v.current()
        targets = [(current.picture if current else (s.pictures or None), r.operation)]
    calls: list[Call] = []
    for number, op in targets:
        order = v.order_of_picture(number) if number else v.current()
        if r.task_ids:
            order = v.current()
        if order is not None and _sizes_the_order(r, op, order.operation):
            continue  # the size or file size goes onto the order as a detail
        if order is not None and order.status == "pending":
            if _is_note(r, op, order.operation) and order.operation != op.value:
                calls.append((T.ADD_REQUIREMENT, {"requirement": r.note, "task_id": order.task_id}))
            elif order.operation != op.value:
                calls.append(
                    (T.CHANGE_OPERATION, {"operation": op.value, "task_id": order.task_id})
                )
        elif order is not None and r.has(Intent.CHANGE):
            calls.append((T.CHANGE_OPERATION, {"operation": op.value, "task_id": order.task_id}))
        elif number is not None and order is None:
            calls.append((T.ANALYSE_AND_QUOTE_PICTURE, {"operation": op.value, "picture": number}))
        elif order is not None and order.status in PAID_STATES | FINISHED:
            if not r.has(Intent.CAPABILITY, Intent.ASK_PRICE):
                calls.append((T.CREATE_TASK, {"operation": op.value}))
    return calls


SIZED_JOBS: Final = frozenset({Operation.REMOVE_BG, Operation.ID_PHOTO})
"""Jobs a buyer names, whose result is delivered at an asked pixel size and file size
(engines.output.conform, the ID-photo frame): naming 改尺寸/压缩 on one asks that of its result.
Not enhance: a picture sent with no job named is quoted as enhance, so "压缩到50kb" then names
the job the buyer wants."""
_ONLY_RESIZE = re.compile(r"只|仅|光|单纯|不用|不需要|不要了|不抠|不去|算了|取消|instead|only")


def _sizes_the_order(r: Reading, op: Operation, current: str) -> bool:
    """Whether 改尺寸/压缩 named on an order of another job is a size for that job's result.

    "还要把尺寸改成800x800" on a cut-out order keeps the cut-out at 800×800; "不用抠图了，只改
    尺寸" drops it for a plain resize.
    """
    asked = r.details.values.keys() & {"size", "print", "min_kb", "max_kb"}
    return (
        op is Operation.RESIZE_COMPRESS
        and current in SIZED_JOBS
        and bool(asked)
        and _ONLY_RESIZE.search(r.text.lower()) is None
    )


def _is_note(r: Reading, op: Operation, current: str) -> bool:
    """Whether naming ``op`` on an order doing ``current`` is a wish about the result, not a job.

    "对了，要高清一点" on a cut-out order is such a wish. On an enhance order (the guess for a
    picture sent with no job named) a job named is the job: "还有…做证件照 白底" is an ID photo.
    """
    if r.has(Intent.CHANGE) or r.per_picture or current == Operation.ENHANCE.value:
        return False
    return r.has(Intent.ADD_DETAIL) or (op is Operation.ENHANCE and len(r.operations) == 1)


def plan(v: View) -> list[Call]:
    """Every call the turn needs besides the quotes of new pictures (those come one by one)."""
    r = v.r
    if r.has(Intent.INJECTION, Intent.PAID_CLAIM):
        return [(T.LIST_MY_TASKS, _tid(r))]
    handoff = _handoff(v)
    if handoff:
        return handoff
    if r.has(Intent.FIND_IMAGE) or (v.c.finding and r.pictures and not r.operation):
        from ai_cs.library.service import query_terms

        if r.pictures:
            return [(T.FIND_IMAGE, {"by_picture": True})]
        if query_terms(r.text) and not any(word in r.text for word in POINTING_AT_A_PICTURE):
            return [(T.FIND_IMAGE, {"query": r.text})]
        return []
    calls: list[Call] = []
    if not v.s.this_turn:
        if not r.has(Intent.CAPABILITY) or v.pending:
            calls.extend(_named_jobs(v))
        current = v.current()
        if r.details and current is not None and current.status == "pending":
            calls.extend(_details(r.details.values, current.task_id))
        elif r.has(Intent.ADD_DETAIL) and r.note and current is not None and not r.operation:
            calls.append((T.ADD_REQUIREMENT, {"requirement": r.note, "task_id": current.task_id}))
    op = r.operation or v.c.operation
    if r.has(Intent.ASK_TIME) or (r.details.urgent and not v.s.this_turn):
        calls.append((T.ESTIMATE_DELIVERY, _op_args(op) if not v.s.orders else {}))
    if r.has(Intent.ASK_PROGRESS) and v.s.orders and not r.has(Intent.ASK_TIME):
        calls.append((T.LIST_MY_TASKS, _tid(r)))
        if any(o.status in ("paid", "processing") for o in v.s.orders):
            calls.append((T.ESTIMATE_DELIVERY, {}))  # progress with an honest time estimate
    if r.has(Intent.CONFIRM) and any(o.status == "awaiting_confirm" for o in v.s.orders):
        calls.append((T.CONFIRM_RECEIPT, _tid(r)))
    wants_list = r.has(Intent.ASK_PRICE, Intent.CAPABILITY, Intent.BATCH) or (
        r.operation is not None and not v.s.pictures
    )
    if wants_list and not v.pending and not v.s.this_turn:
        calls.append((T.SHOW_PRICE_LIST, _op_args(op)))
    return calls


def _quoted(steps: Sequence[Step], number: int) -> Step | None:
    for step in steps:
        if step.tool == T.ANALYSE_AND_QUOTE_PICTURE and step.args.get("picture") == number:
            return step
    return None


def _done(steps: Sequence[Step], call: Call) -> bool:
    return any(s.tool == call[0] and s.args == call[1] for s in steps)


def next_calls(v: View, steps: Sequence[Step]) -> list[Call]:
    """The calls still to make this turn, given what is done (none: time to reply)."""
    r = v.r
    risky = screened(r)
    if risky is not Decision.ACCEPT:
        return [] if _done(steps, (T.SCREEN_REQUEST, {})) else [(T.SCREEN_REQUEST, {})]
    first = plan(v)
    if first and first[0][0] in (T.HAND_TO_HUMAN, T.FIND_IMAGE) or r.has(Intent.INJECTION):
        todo = [c for c in first if not _done(steps, c)]
        return todo + _find_follow_up(steps)
    details = {**v.c.details, **r.details.values}
    for number, op in _picture_jobs(v):
        step = _quoted(steps, number)
        if step is None:
            return [(T.ANALYSE_AND_QUOTE_PICTURE, {**_op_args(op), "picture": number})]
        quote = step.result
        if isinstance(quote, QuoteResult) and quote.ok and quote.task and not quote.reused:
            todo = [c for c in _details(details, quote.task.task_id) if not _done(steps, c)]
            if r.has(Intent.ADD_DETAIL) and r.note and not details:
                note = (T.ADD_REQUIREMENT, {"requirement": r.note, "task_id": quote.task.task_id})
                todo += [] if _done(steps, note) else [note]
            if todo:
                return todo
    todo = [c for c in first if not _done(steps, c)]
    for step in steps:
        # A new order opened for a named job gets the details given with or before it.
        if (
            step.tool in (T.ANALYSE_AND_QUOTE_PICTURE, T.CREATE_TASK)
            and step.args.get("picture") not in v.s.this_turn
        ):
            quote = step.result
            if isinstance(quote, QuoteResult) and quote.ok and quote.task and details:
                todo += [c for c in _details(details, quote.task.task_id) if not _done(steps, c)]
    locked = [
        s
        for s in steps
        if s.tool == T.CHANGE_OPERATION
        and isinstance(s.result, ChangeResult)
        and s.result.error == "operation_locked"
    ]
    for step in locked:
        create = (T.CREATE_TASK, {"operation": step.args["operation"]})
        if not _done(steps, create):
            todo.append(create)
    return todo + _find_follow_up(steps)


def _find_follow_up(steps: Sequence[Step]) -> list[Call]:
    for step in steps:
        if (
            step.tool == T.FIND_IMAGE
            and isinstance(step.result, FindImageResult)
            and step.result.ok
            and not step.result.matches
        ):
            call = (T.HAND_TO_HUMAN, {"reason": "find_image_no_match"})
            return [] if _done(steps, call) else [call]
    return []


# --- the reply -----------------------------------------------------------------------------------
def compose_reply(v: View, steps: Sequence[Step]) -> str:
    """The turn's reply from every tool result and the questions asked, without repeats."""
    return replies.compose(v.r, v.s, v.c, steps)


def _respond(text: str) -> ModelResponse:
    return ModelResponse(parts=[TextPart(content=text)])


def _state_of(steps: Sequence[Step]) -> StateResult:
    for step in steps:
        if step.tool == T.CONVERSATION_STATE and isinstance(step.result, StateResult):
            return step.result
    return StateResult()


def offline_policy(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """The ``FunctionModel`` function: the next tool calls, or the reply."""
    start = _turn_start(messages)
    current = messages[start:]
    first = current[0] if current else None
    prompt = _prompt_text(first) if isinstance(first, ModelRequest) else ""
    reading = read_message(prompt)
    steps = steps_of(current)
    available = {tool.name for tool in info.function_tools}
    if not steps and T.CONVERSATION_STATE in available:
        return ModelResponse(parts=[ToolCallPart(tool_name=T.CONVERSATION_STATE, args={})])
    view = View(reading, _state_of(steps), context_of(messages[:start]))
    calls: list[Call] = []
    if len(steps) < MAX_STEPS and isinstance(messages[-1], ModelRequest):
        calls = [(n, a) for n, a in next_calls(view, steps) if n in available]
    if not calls:
        return _respond(compose_reply(view, steps))
    return ModelResponse(
        parts=[ToolCallPart(tool_name=str(name), args=args) for name, args in calls]
    )


async def _offline_policy(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    # Async so the model runs on the event loop: the policy is quick pure Python, and a sync
    # function would cost a worker-thread hop per step.
    return offline_policy(messages, info)


def offline_model() -> FunctionModel:
    """The built-in offline model (no network, deterministic)."""
    return FunctionModel(_offline_policy, model_name=OFFLINE_MODEL_NAME)


__all__ = ["Context", "Details", "Step", "View", "find_details", "offline_model", "plan"]
