"""The agent's tools: thin, typed, and scoped to the customer of the conversation.

Each tool's docstring is the description the model sees. Rules that hold for every tool:

* Identity comes from :class:`~ai_cs.agent.deps.ShopDeps` (the server), never from arguments.
* A tool only reads or changes tasks whose ``customer_id`` is the conversation's customer. A task
  id that belongs to someone else answers exactly like one that does not exist.
* No tool marks anything paid or sets a price: payment comes only from the platform's payment
  events, and prices only from :mod:`ai_cs.core.pricing`.
* Errors come back as a result with a stable ``error`` code and a fixed Chinese message; domain
  error texts (which name ids and customers) never reach the model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any, Final, Literal, TypeVar

from pydantic import BaseModel, Field
from pydantic_ai import RunContext
from sqlalchemy.orm import Session

from ai_cs.agent.deps import ShopDeps
from ai_cs.conversations import service as conversations
from ai_cs.conversations.models import Conversation
from ai_cs.core import money
from ai_cs.core.delivery import duration_text
from ai_cs.core.pricing import COMPLEXITY_LABELS, OPERATION_LABELS, Complexity
from ai_cs.core.requirements import output_from_detail
from ai_cs.core.risk import Decision, RiskInput, assess_risk
from ai_cs.core.tasks import Operation, TaskStatus, sources_of
from ai_cs.core.wording import STATUS_NAMES
from ai_cs.errors import (
    AicsError,
    ConcurrentUpdate,
    ImageRejected,
    InvalidTransition,
    NotTaskOwner,
    OperationLockedAfterPayment,
    RequirementsLockedAfterPayment,
    TaskNotFound,
)
from ai_cs.notify import NotifyKind
from ai_cs.tasks import orders, service
from ai_cs.tasks.schemas import Order

log = logging.getLogger(__name__)


class TurnCancelledError(Exception):
    """The turn this tool ran for was cancelled: it is retried, and that run opens the order."""


OperationName = Literal[
    "enhance", "remove_bg", "vectorize", "remove_bg_and_layer", "id_photo", "resize_compress"
]
StatusName = Literal[
    "pending", "paid", "processing", "awaiting_confirm", "completed", "failed", "with_designer"
]
RequirementKey = Literal[
    "background",
    "size",
    "format",
    "max_kb",
    "min_kb",
    "print",
    "dpi",
    "deadline",
    "quantity",
    "colour",
]
OUTPUT_KEYS: Final = frozenset({"background", "size", "format", "max_kb", "min_kb", "print", "dpi"})
"""Requirement keys the engines apply; a value they cannot apply is refused, not stored."""
HandoffReason = Literal[
    "customer_request",
    "complaint",
    "refund",
    "revision_request",
    "retouch",
    "find_image_no_match",
    "risk_review",
    "other",
]
ErrorCode = Literal[
    "task_not_found",
    "no_picture",
    "picture_rejected",
    "operation_locked",
    "requirements_locked",
    "not_ready",
    "needs_review",
    "invalid_request",
    "busy",
]

ERROR_MESSAGES: Final[dict[str, str]] = {
    "task_not_found": "没有找到这个订单",
    "no_picture": "还没有收到图片",
    "picture_rejected": "这张图片无法读取，请换一张清晰的 JPG/PNG 图片",
    "operation_locked": "订单已付款，处理方式不能再修改",
    "requirements_locked": "订单已付款，需求不能再修改",
    "not_ready": "订单当前状态不能进行这个操作",
    "needs_review": "这个需求需要人工确认",
    "invalid_request": "请求内容有误",
    "busy": "订单刚刚有变动，请稍后再试",
}
"""The only error texts tools give the model (never a domain error's own message)."""


HANDOFF_LABELS: Final[dict[str, str]] = {
    "customer_request": "客户要求人工客服",
    "complaint": "客户投诉",
    "refund": "客户申请退款",
    "revision_request": orders.REVISION_LABEL,
    "retouch": "客户要的精修/设计不在自动处理范围，需设计师报价",
    "find_image_no_match": "图库中没有找到客户要的图片",
    "risk_review": orders.REVIEW_LABEL,
    "other": "需要人工处理",
}
TASK_HANDOFF_REASONS: Final = frozenset({"customer_request", "complaint", "revision_request"})
"""Reasons for which a paid task also goes to a human designer (not only the chat to staff)."""
DESIGNER_STATUSES: Final = frozenset(s.value for s in sources_of(TaskStatus.WITH_DESIGNER))
MAX_LISTED_TASKS: Final = 10

T = TypeVar("T")


class ToolName(StrEnum):
    """Every tool the agent has, by the name the model calls it (checked against the agent)."""

    CONVERSATION_STATE = "conversation_state"
    ANALYSE_AND_QUOTE_PICTURE = "analyse_and_quote_picture"
    CREATE_TASK = "create_task"
    CHANGE_OPERATION = "change_operation"
    ADD_REQUIREMENT = "add_requirement"
    SET_REQUIREMENT_DETAIL = "set_requirement_detail"
    LIST_MY_TASKS = "list_my_tasks"
    CONFIRM_RECEIPT = "confirm_receipt"
    SHOW_PRICE_LIST = "show_price_list"
    ESTIMATE_DELIVERY = "estimate_delivery"
    FIND_IMAGE = "find_image"
    HAND_TO_HUMAN = "hand_to_human"
    SCREEN_REQUEST = "screen_request"


# --- results -------------------------------------------------------------------------------------
def yuan(fen: int | None) -> str | None:
    """Fen as customers read yuan (:func:`ai_cs.core.money.yuan`); ``None`` when unpriced."""
    return None if fen is None else money.yuan(fen)


class TaskView(BaseModel):
    """One of the customer's own orders as the agent may talk about it."""

    task_id: str
    operation: str
    operation_label: str
    status: str
    status_label: str
    price_fen: int | None = None
    price_yuan: str | None = None
    notes: list[str] = Field(default_factory=list)
    created_at: str | None = None
    complexity: str | None = None
    output: dict[str, Any] = Field(default_factory=dict)
    """What the result must be (requirements.output: background, size, format, file size)."""
    details: dict[str, str] = Field(default_factory=dict)
    """Other details the buyer gave (deadline, quantity, print size, dpi)."""
    picture: int | None = None
    """Which picture of the conversation the order is for (1 = the first one sent)."""


class QuoteLine(BaseModel):
    """One line of a quote."""

    label: str
    yuan: str


class ToolOutcome(BaseModel):
    """What an acting tool answers first: whether it worked and, if not, why."""

    ok: bool
    error: ErrorCode | None = None
    message: str = ""


class QuoteResult(ToolOutcome):
    """Analysis, risk decision and quote of a picture; the order when one was opened."""

    decision: Literal["accept", "review", "decline"] | None = None
    reasons: list[str] = Field(default_factory=list)
    task: TaskView | None = None
    reused: bool = False
    operation_defaulted: bool = False
    complexity_label: str | None = None
    text_found: bool = False
    lines: list[QuoteLine] = Field(default_factory=list)


class ChangeResult(ToolOutcome):
    """An operation change and the quote that followed it."""

    task: TaskView | None = None
    unchanged: bool = False
    previous_operation_label: str | None = None
    previous_price_yuan: str | None = None


class RequirementResult(ToolOutcome):
    """A note or a structured requirement recorded on an order."""

    task: TaskView | None = None
    recorded: str = ""


class TaskListResult(ToolOutcome):
    """The customer's own orders, newest first."""

    ok: bool = True
    tasks: list[TaskView] = Field(default_factory=list)
    total: int = 0


class FoundPicture(BaseModel):
    """A library picture that matches, with its resolution."""

    image_id: int
    name: str
    resolution: str
    megapixels: float
    tags: list[str] = Field(default_factory=list)


class FindImageResult(ToolOutcome):
    """Matches of a find-image search."""

    searched_by: Literal["picture", "words"] | None = None
    matches: list[FoundPicture] = Field(default_factory=list)


class HandoffResult(ToolOutcome):
    """What handing to a human did."""

    reason_label: str = ""
    conversation_flagged: bool = False
    task: TaskView | None = None


class ConfirmResult(ToolOutcome):
    """A receipt confirmation (确认收货)."""

    task: TaskView | None = None


class PriceLine(BaseModel):
    """List prices of one operation by complexity."""

    operation: str
    label: str
    simple_yuan: str
    normal_yuan: str
    complex_yuan: str


class PriceListResult(BaseModel):
    """The shop's list prices; the exact quote needs the picture."""

    prices: list[PriceLine]
    text_band: str


class StateResult(BaseModel):
    """The conversation as it stands: its orders, the pictures sent, the current order."""

    orders: list[TaskView] = Field(default_factory=list)
    """Orders opened in this conversation, oldest first, each with its picture number."""
    pictures: int = 0
    """Pictures the customer has sent in this conversation (this turn's included)."""
    this_turn: list[int] = Field(default_factory=list)
    """Numbers of the pictures that came with this message."""
    last_batch: list[int] = Field(default_factory=list)
    """Numbers of the pictures of the newest message that had any ("两张都")."""
    current_task_id: str | None = None
    other_orders: int = 0
    """The customer's orders from other conversations (not shown)."""


class DeliveryResult(BaseModel):
    """How long a job takes: the shop's typical time and the queue ahead of it."""

    operation: str
    operation_label: str
    typical_minutes: int
    queued_ahead: int
    estimate_minutes: int
    estimate_text: str
    designer_hours: int
    task: TaskView | None = None


class ScreenResult(BaseModel):
    """The risk table's verdict on what the customer asked in words (伪造/去水印 …)."""

    decision: Literal["accept", "review", "decline"]
    reasons: list[str] = Field(default_factory=list)
    codes: list[str] = Field(default_factory=list)


# --- helpers -------------------------------------------------------------------------------------
class _Missing(Exception):
    """The target task does not exist or is not the customer's (the same to the caller)."""


def _label(operation: str | None) -> str:
    try:
        return OPERATION_LABELS[Operation(str(operation))]
    except ValueError:
        return str(operation or "")


DETAIL_KEYS: Final = ("deadline", "quantity")


def task_view(order: Order, picture: int | None = None) -> TaskView:
    """The customer-facing view of an order."""
    notes = [line for line in (order.customer_notes or "").splitlines() if line][-5:]
    reqs = order.details
    output = reqs.get("output")
    return TaskView(
        complexity=str(reqs.get("complexity")) if reqs.get("complexity") else None,
        output=dict(output) if isinstance(output, dict) else {},
        details={k: str(reqs[k]) for k in DETAIL_KEYS if reqs.get(k)},
        picture=picture,
        task_id=order.task_id,
        operation=order.operation,
        operation_label=_label(order.operation),
        status=order.status,
        status_label=STATUS_NAMES.get(order.status, order.status),
        price_fen=order.price_fen,
        price_yuan=yuan(order.price_fen),
        notes=notes,
        created_at=order.created_at,
    )


def _orders(
    session: Session, deps: ShopDeps, *, status: str | None = None, limit: int = 50
) -> tuple[list[Order], int]:
    """The customer's own orders, newest first, and how many there are."""
    rows, total = service.list_tasks(
        session,
        customer_id=deps.customer_id,
        shop=(deps.platform, deps.account_id),
        status=status,
        limit=limit,
    )
    return [Order.of(row) for row in rows], total


def _error_code(exc: AicsError) -> ErrorCode:
    if isinstance(exc, TaskNotFound | NotTaskOwner):
        return "task_not_found"
    if isinstance(exc, OperationLockedAfterPayment):
        return "operation_locked"
    if isinstance(exc, RequirementsLockedAfterPayment):
        return "requirements_locked"
    if isinstance(exc, InvalidTransition):
        return "not_ready"
    if isinstance(exc, ConcurrentUpdate):
        return "busy"
    if isinstance(exc, ImageRejected):
        return "picture_rejected"
    return "invalid_request"


def _own_task(session: Session, deps: ShopDeps, task_id: str) -> Order | None:
    try:
        task = Order.of(service.get_task(session, task_id, customer_id=deps.customer_id))
    except AicsError:  # missing, another customer's, or a malformed id: the same answer
        return None
    # The buyer id names this person only in this shop: another shop's order is not theirs.
    if (task.acc_type or "", task.acc_id or "") != (deps.platform, deps.account_id):
        return None
    return task


def _find_target(
    session: Session,
    deps: ShopDeps,
    task_id: str | None,
    prefer: Iterable[str] | None = None,
) -> Order:
    """The order a tool acts on: the named one (if the customer's), else the conversation's.

    Without a task id: the conversation's current order when its status is preferred, else the
    customer's newest order in a preferred status, else the current order, else the newest.
    """
    if task_id is not None:
        task = _own_task(session, deps, task_id)
        if task is None:
            raise _Missing
        return task
    wanted = set(prefer) if prefer is not None else None
    current = None
    conv = session.get(Conversation, deps.conversation_id)
    if conv is not None and conv.current_task_id:
        current = _own_task(session, deps, conv.current_task_id)
    if current is not None and (wanted is None or current.status in wanted):
        return current
    rows, _ = _orders(session, deps)
    for task in rows:
        if wanted is None or task.status in wanted:
            return task
    if current is not None:
        return current
    if rows:
        return rows[0]
    raise _Missing


R = TypeVar("R", bound=BaseModel)


def _act(
    deps: ShopDeps,
    result: type[R],
    task_id: str | None,
    prefer: Iterable[str] | None,
    verb: Callable[[Session, Order], R],
) -> R:
    """Find the order the customer means and run one verb on it, in one transaction.

    A verb that refuses (paid already, not ready, changed meanwhile) changes nothing (its
    savepoint is rolled back) and the result says why with the order as it stands.
    """

    def run(session: Session) -> R:
        target = _find_target(session, deps, task_id, prefer)
        try:
            with session.begin_nested():
                return verb(session, target)
        except AicsError as exc:
            code = _error_code(exc)
            return result(
                ok=False, error=code, message=ERROR_MESSAGES[code], task=task_view(target)
            )

    try:
        return _write(deps, run)
    except _Missing:
        return result(ok=False, error="task_not_found", message=ERROR_MESSAGES["task_not_found"])
    except AicsError as exc:
        code = _error_code(exc)
        return result(ok=False, error=code, message=ERROR_MESSAGES[code])


def _caller(deps: ShopDeps) -> orders.Caller:
    return orders.Caller.customer(
        deps.customer_id,
        deps.conversation_id,
        platform=deps.platform,
        account_id=deps.account_id,
    )


def _write(deps: ShopDeps, fn: Callable[[Session], T]) -> T:
    return deps.workflow.db.run_write(fn)


def _request_text(session: Session, deps: ShopDeps) -> str:
    texts = conversations.recent_customer_texts(session, deps.conversation_id)
    if deps.turn_text and (not texts or texts[-1] != deps.turn_text):
        texts.append(deps.turn_text)
    return "\n".join(texts)


def _all_pictures(deps: ShopDeps) -> list[list[str]]:
    with deps.workflow.db.read() as session:
        groups = conversations.customer_pictures(session, deps.conversation_id)
    return [[a.url.strip() for a in group] for group in groups]


def _picture_source(
    deps: ShopDeps, number: int | None = None
) -> tuple[str | None, ErrorCode | None]:
    """The source of a picture of the conversation.

    Picture ``number`` (1 = the first sent), else this turn's first, else the newest picture
    the customer sent.
    """
    from ai_cs.imaging.intake import is_url

    if number is not None:
        flat = [url for group in _all_pictures(deps) for url in group]
        if not 1 <= number <= len(flat):
            return None, "no_picture"
        url = flat[number - 1]
    else:
        pictures = list(deps.pictures)
        if not pictures:
            with deps.workflow.db.read() as session:
                pictures = conversations.last_customer_pictures(session, deps.conversation_id)
        if not pictures:
            return None, "no_picture"
        url = pictures[0].url.strip()
    if is_url(url):
        if url.lower().startswith(("http://", "https://")):
            return url, None
        return None, "picture_rejected"
    if deps.allow_local_files:
        return url, None
    # A gateway message must carry an http(s) URL; a local path would read the shop's own disk.
    return None, "picture_rejected"


# --- process image: analyse, quote, open the order -----------------------------------------------
def _pending_for_picture(deps: ShopDeps, source: str) -> Order | None:
    with deps.workflow.db.read() as session:
        rows, _ = _orders(session, deps, status=TaskStatus.PENDING.value)
    for task in rows:
        if task.original_image == source and task.conversation_id == deps.conversation_id:
            return task
    return None


def _quote_picture(
    deps: ShopDeps, operation: Operation | None, *, force_new: bool, picture: int | None = None
) -> QuoteResult:
    from ai_cs.processing.pictures import analyse_customer_picture

    source, problem = _picture_source(deps, picture)
    if source is None:
        code = problem or "no_picture"
        return QuoteResult(ok=False, error=code, message=ERROR_MESSAGES[code])
    if not force_new:
        existing = _pending_for_picture(deps, source)
        if existing is not None:
            if operation is None or existing.operation == operation.value:
                return QuoteResult(
                    ok=True, decision="accept", task=task_view(existing), reused=True
                )
            changed = _change_operation(deps, operation, existing.task_id)
            return QuoteResult(
                ok=changed.ok,
                error=changed.error,
                message=changed.message,
                decision="accept" if changed.ok else None,
                task=changed.task,
                reused=True,
            )
    with deps.workflow.db.read() as session:
        request_text = _request_text(session, deps)
    try:
        # AICS_PICTURE_JOBS: the analysis runs as a job on a worker (else orders.analyse_picture)
        report = analyse_customer_picture(
            deps.workflow.db,
            deps.workflow.queue,
            deps.settings,
            source,
            customer_id=deps.customer_id,
            operation=operation,
            request_text=request_text,
            ocr=deps.ocr,
            wait=source not in deps.awaited_pictures,
        )
    except AicsError as exc:
        code = _error_code(exc)
        log.info("picture refused for %s: %s", deps.conversation_id, exc.code)
        return QuoteResult(ok=False, error=code, message=ERROR_MESSAGES[code])
    buyer = orders.Buyer(
        deps.customer_id, deps.conversation_id, deps.customer_nick, deps.account_id, deps.platform
    )

    def open_order(session: Session) -> orders.Quoted:
        if deps.cancelled.is_set():
            raise TurnCancelledError(deps.conversation_id)
        clock = deps.workflow.clock
        return orders.quote_picture(session, clock, report, source=source, buyer=buyer)

    quoted = _write(deps, open_order)
    common = QuoteResult(
        ok=True,
        complexity_label=COMPLEXITY_LABELS.get(report.analysis.complexity, ""),
        text_found=report.analysis.text.found,
        operation_defaulted=report.operation_defaulted,
    )
    if quoted.order is None:
        return common.model_copy(
            update={"decision": quoted.decision.value, "reasons": quoted.reasons}
        )
    return common.model_copy(
        update={
            "decision": "accept",
            "task": task_view(quoted.order),
            "lines": [
                QuoteLine(label=i.label, yuan=yuan(i.amount_fen) or "0") for i in report.quote.items
            ],
        }
    )


def analyse_and_quote_picture(  # noqa: D417 (ctx is not shown to the model)
    ctx: RunContext[ShopDeps], operation: OperationName | None = None, picture: int | None = None
) -> QuoteResult:
    """Analyse the picture the customer just sent (or last sent) and quote a price.

    When the shop can take the job this opens the order (status 待付款, waiting for the
    customer's payment on the platform); a picture that needs review goes to staff, a refused
    one opens nothing. Sending the same picture again returns the order already open for it.

    Args:
        operation: What the customer wants done: ``enhance`` (变清晰/高清修复), ``remove_bg``
            (抠图/去背景/白底), ``vectorize`` (转矢量/AI/SVG/描图), ``remove_bg_and_layer``
            (分层/PSD), ``id_photo`` (证件照), ``resize_compress`` (改尺寸/压缩). Leave it out
            when the customer has not said.
        picture: Which picture of the conversation (1 = the first sent; see
            conversation_state); leave it out for the picture of this message.

    """
    deps = ctx.deps
    op = Operation(operation) if operation else None
    return deps.once(
        ("quote", operation, picture),
        lambda: _quote_picture(deps, op, force_new=False, picture=picture),
    )


def create_task(  # noqa: D417 (ctx is not shown to the model)
    ctx: RunContext[ShopDeps], operation: OperationName
) -> QuoteResult:
    """Open an additional order for the customer's most recent picture with this operation.

    Use it when the customer wants another job on a picture whose order is already paid (a
    paid order's operation cannot change). Quotes the new order; the price comes from the
    shop's price table.

    Args:
        operation: The job for the new order (enhance, remove_bg, vectorize, remove_bg_and_layer).

    """
    deps = ctx.deps
    op = Operation(operation)
    return deps.once(("create", operation), lambda: _quote_picture(deps, op, force_new=True))


# --- changing an order ---------------------------------------------------------------------------
def _change_operation(deps: ShopDeps, operation: Operation, task_id: str | None) -> ChangeResult:
    def verb(session: Session, target: Order) -> ChangeResult:
        done = orders.change_operation(
            session,
            deps.workflow.clock,
            deps.settings.prices,
            target.task_id,
            operation,
            _caller(deps),
            request_text=_request_text(session, deps),
        )
        if done.review:
            code: ErrorCode = "needs_review"
            return ChangeResult(
                ok=False, error=code, message=ERROR_MESSAGES[code], task=task_view(target)
            )
        if done.unchanged:
            return ChangeResult(ok=True, task=task_view(done.order), unchanged=True)
        previous = task_view(done.previous)
        return ChangeResult(
            ok=True,
            task=task_view(done.order),
            previous_operation_label=previous.operation_label,
            previous_price_yuan=previous.price_yuan,
        )

    return _act(deps, ChangeResult, task_id, {TaskStatus.PENDING.value}, verb)


def change_operation(  # noqa: D417 (ctx is not shown to the model)
    ctx: RunContext[ShopDeps], operation: OperationName, task_id: str | None = None
) -> ChangeResult:
    """Change what is done to the customer's order before payment; the quote follows.

    Only an order that is still 待付款 can change; the new price comes from the shop's price
    table for the same picture.

    Args:
        operation: The new job: enhance, remove_bg, vectorize or remove_bg_and_layer (分层).
        task_id: The order id if the customer named one; leave it out for the current order.

    """
    deps = ctx.deps
    op = Operation(operation)
    return deps.once(("change", operation, task_id), lambda: _change_operation(deps, op, task_id))


def _add_requirement(
    deps: ShopDeps, task_id: str | None, key: str | None, value: str
) -> RequirementResult:
    def verb(session: Session, target: Order) -> RequirementResult:
        clock = deps.workflow.clock
        if key is None:
            noted = orders.add_note(session, clock, target.task_id, value, _caller(deps))
        else:
            noted = orders.set_requirement(
                session, clock, target.task_id, key, value, _caller(deps)
            )
        return RequirementResult(ok=True, task=task_view(noted.order), recorded=value.strip())

    return _act(deps, RequirementResult, task_id, {TaskStatus.PENDING.value}, verb)


def add_requirement(  # noqa: D417 (ctx is not shown to the model)
    ctx: RunContext[ShopDeps], requirement: str, task_id: str | None = None
) -> RequirementResult:
    """Record a detail the customer adds to their order (客户备注), before payment.

    Args:
        requirement: The customer's words for the detail, e.g. "要高清一点".
        task_id: The order id if the customer named one; leave it out for the current order.

    """
    deps = ctx.deps
    return deps.once(
        ("note", requirement, task_id), lambda: _add_requirement(deps, task_id, None, requirement)
    )


def set_requirement_detail(  # noqa: D417 (ctx is not shown to the model)
    ctx: RunContext[ShopDeps], key: RequirementKey, value: str, task_id: str | None = None
) -> RequirementResult:
    """Record a structured requirement of the order, which the result must then meet.

    Args:
        key: ``background`` (white/transparent/blue/red/#rrggbb), ``size`` (pixels "800x800"),
            ``format`` (png/jpg/svg/pdf/eps/psd), ``max_kb`` / ``min_kb`` (file size), or a
            print size ``print`` ("10x15cm", "5寸", "A4") with ``dpi``, or for the shop
            ``deadline`` (交付时间),
            ``quantity``.
        value: The value, e.g. "white", "800x800", "pdf", "50", "明天".
        task_id: The order id if the customer named one; leave it out for the current order.

    """
    deps = ctx.deps
    if key in OUTPUT_KEYS and not output_from_detail(key, value):
        return RequirementResult(
            ok=False, error="invalid_request", message=ERROR_MESSAGES["invalid_request"]
        )
    return deps.once(
        ("detail", key, value, task_id), lambda: _add_requirement(deps, task_id, key, value)
    )


# --- reading orders ------------------------------------------------------------------------------
def list_my_tasks(  # noqa: D417 (ctx is not shown to the model)
    ctx: RunContext[ShopDeps], task_id: str | None = None, status: StatusName | None = None
) -> TaskListResult:
    """The customer's own orders and their status (进度), newest first.

    Args:
        task_id: One order id if the customer asked about a specific order.
        status: Only orders in this status.

    """
    deps = ctx.deps
    with deps.workflow.db.read() as session:
        if task_id is not None:
            task = _own_task(session, deps, task_id)
            if task is None:
                return TaskListResult(
                    ok=False, error="task_not_found", message=ERROR_MESSAGES["task_not_found"]
                )
            return TaskListResult(tasks=[task_view(task)], total=1)
        rows, total = _orders(session, deps, status=status, limit=MAX_LISTED_TASKS)
    return TaskListResult(tasks=[task_view(t) for t in rows], total=total)


def confirm_receipt(  # noqa: D417 (ctx is not shown to the model)
    ctx: RunContext[ShopDeps], task_id: str | None = None
) -> ConfirmResult:
    """Confirm receipt of a finished order (确认收货) when the customer is satisfied.

    Args:
        task_id: The order id if the customer named one; leave it out for the order awaiting
            confirmation.

    """
    deps = ctx.deps

    def verb(session: Session, target: Order) -> ConfirmResult:
        done = orders.confirm(session, deps.workflow.clock, target.task_id, _caller(deps))
        return ConfirmResult(ok=True, task=task_view(done))

    return deps.once(
        ("confirm", task_id),
        lambda: _act(deps, ConfirmResult, task_id, {TaskStatus.AWAITING_CONFIRM.value}, verb),
    )


def show_price_list(  # noqa: D417 (ctx is not shown to the model)
    ctx: RunContext[ShopDeps], operation: OperationName | None = None
) -> PriceListResult:
    """The shop's list prices by job and picture complexity (the exact quote needs the picture).

    Args:
        operation: Only this job's prices; leave it out for all jobs.

    """
    # The configured table (AICS_PRICES): the same one every quote is computed from.
    table = ctx.deps.settings.prices
    ops = [Operation(operation)] if operation else list(Operation)
    return PriceListResult(
        prices=[
            PriceLine(
                operation=op.value,
                label=OPERATION_LABELS[op],
                simple_yuan=yuan(table.base_fen[op][Complexity.SIMPLE]) or "0",
                normal_yuan=yuan(table.base_fen[op][Complexity.NORMAL]) or "0",
                complex_yuan=yuan(table.base_fen[op][Complexity.COMPLEX]) or "0",
            )
            for op in ops
        ],
        text_band=f"{yuan(table.text_band_min_fen)}-{yuan(table.text_band_max_fen)}",
    )


# --- find image ----------------------------------------------------------------------------------
def _find_image(deps: ShopDeps, query: str | None, by_picture: bool) -> FindImageResult:
    from ai_cs.imaging.intake import load_source
    from ai_cs.library.service import decode_picture, search_by_picture, search_by_words

    if by_picture:
        source, problem = _picture_source(deps)
        if source is None:
            code = problem or "no_picture"
            return FindImageResult(ok=False, error=code, message=ERROR_MESSAGES[code])
        try:
            data, _ = load_source(source, deps.settings)
            img = decode_picture(data)
        except AicsError as exc:
            code = _error_code(exc)
            return FindImageResult(ok=False, error=code, message=ERROR_MESSAGES[code])
        with deps.workflow.db.read() as session:
            matches = search_by_picture(session, img, acc_id=deps.account_id, limit=3)
        searched: Literal["picture", "words"] = "picture"
    else:
        words = (query or deps.turn_text or "").strip()
        with deps.workflow.db.read() as session:
            matches = search_by_words(session, words, acc_id=deps.account_id, limit=3)
        searched = "words"
    return FindImageResult(
        ok=True,
        searched_by=searched,
        matches=[
            FoundPicture(
                image_id=m.image_id,
                name=m.file_name,
                resolution=m.resolution,
                megapixels=m.megapixels,
                tags=m.tags[:5],
            )
            for m in matches
        ],
    )


def find_image(  # noqa: D417 (ctx is not shown to the model)
    ctx: RunContext[ShopDeps], query: str | None = None, by_picture: bool = False
) -> FindImageResult:
    """Search the shop's picture library (找图/找原图) by the customer's picture or by words.

    Args:
        query: Words describing the picture (name, what it shows, text on it).
        by_picture: True to search with the picture the customer sent.

    """
    return _find_image(ctx.deps, query, by_picture)


# --- hand to a human -----------------------------------------------------------------------------
def hand_to_human(  # noqa: D417 (ctx is not shown to the model)
    ctx: RunContext[ShopDeps],
    reason: HandoffReason,
    task_id: str | None = None,
    note: str | None = None,
) -> HandoffResult:
    """Hand the conversation to the shop's staff (转人工); a paid order goes to a designer.

    A refund request goes to staff only (never to a designer).

    Args:
        reason: Why: customer_request (要人工), complaint (投诉), refund (退款),
            revision_request (不满意要修改), find_image_no_match, risk_review or other.
        task_id: The order concerned if the customer named one.
        note: For a revision, what the customer wants changed, in their words.

    """
    deps = ctx.deps
    clock = deps.workflow.clock
    label = HANDOFF_LABELS[reason]
    if note and note.strip():
        label = f"{label}：{note.strip()[:300]}"

    def run(session: Session) -> HandoffResult:
        error: ErrorCode | None = None
        handed = None
        target = None
        if reason in TASK_HANDOFF_REASONS or task_id is not None:
            try:
                target = _find_target(session, deps, task_id, prefer=DESIGNER_STATUSES)
            except _Missing:
                error = "task_not_found" if task_id is not None else None
        if target is not None and reason in TASK_HANDOFF_REASONS:
            if target.status in DESIGNER_STATUSES:
                by = _caller(deps)
                # One notice for the situation: the conversation's, naming the order.
                handed = (
                    orders.revise(session, clock, target.task_id, note, by)
                    if reason == "revision_request"
                    else orders.hand_to_designer(
                        session, clock, target.task_id, label, by, notify=None
                    )
                )
        flag = label if handed is None else f"{label}（订单 {handed.task_id} 已转设计师）"
        conversations.mark_needs_human(
            session,
            clock,
            deps.conversation_id,
            flag,
            task_id=handed.task_id if handed is not None else None,
        )
        return HandoffResult(
            ok=True,
            error=error,
            message=ERROR_MESSAGES[error] if error else "",
            reason_label=label,
            conversation_flagged=True,
            task=task_view(handed) if handed is not None else None,
        )

    def attempt() -> HandoffResult:
        try:
            return _write(deps, run)
        except AicsError as exc:
            code = _error_code(exc)
            return HandoffResult(ok=False, error=code, message=ERROR_MESSAGES[code])

    return deps.once(("human", reason, task_id), attempt)


# --- the conversation as it stands ---------------------------------------------------------------
def conversation_state(ctx: RunContext[ShopDeps]) -> StateResult:
    """The conversation as it stands: its orders, the pictures sent, the current order.

    Each order carries the number of its picture; ``pictures`` counts this message's too.

    Read it before acting on a message that may refer to an order or a picture ("这张",
    "两张都", "多少钱", "背景不要了").
    """
    deps = ctx.deps

    def read() -> StateResult:
        groups = _all_pictures(deps)
        flat = [url for group in groups for url in group]
        with deps.workflow.db.read() as session:
            conv = session.get(Conversation, deps.conversation_id)
            rows, total = _orders(session, deps)
        mine = sorted(
            (t for t in rows if t.conversation_id == deps.conversation_id), key=lambda t: t.task_id
        )
        views = []
        for task in mine:
            numbers = [i for i, url in enumerate(flat, start=1) if url == task.original_image]
            views.append(task_view(task, numbers[-1] if numbers else None))
        count = len(flat)
        this_turn = len(deps.pictures)
        last = len(groups[-1]) if groups else 0
        return StateResult(
            orders=views,
            pictures=count,
            this_turn=list(range(count - this_turn + 1, count + 1)) if this_turn else [],
            last_batch=list(range(count - last + 1, count + 1)) if last else [],
            current_task_id=conv.current_task_id if conv is not None else None,
            other_orders=max(0, total - len(mine)),
        )

    return deps.once(("state",), read)


def estimate_delivery(  # noqa: D417 (ctx is not shown to the model)
    ctx: RunContext[ShopDeps], operation: OperationName | None = None, task_id: str | None = None
) -> DeliveryResult:
    """How long a job takes (交付时间), with the queue as it is now.

    The shop's typical time for the operation and the picture's complexity, plus the paid jobs
    queued ahead right now.

    Args:
        operation: The job asked about; leave it out for the current order's job.
        task_id: The order id if the customer named one.

    """
    deps = ctx.deps
    times = deps.settings.delivery_times
    with deps.workflow.db.read() as session:
        try:
            task = _find_target(session, deps, task_id, prefer={TaskStatus.PENDING.value})
        except _Missing:
            task = None
        queued = sum(
            service.list_tasks(session, status=status.value, limit=1)[1]
            for status in (TaskStatus.PAID, TaskStatus.PROCESSING)
        )
    if task is not None and task.status in (TaskStatus.PAID.value, TaskStatus.PROCESSING.value):
        queued = max(0, queued - 1)
    op = Operation(operation) if operation else None
    if op is None:
        op = Operation(task.operation) if task is not None else Operation.REMOVE_BG
    try:
        complexity = Complexity(str(task.details.get("complexity") if task else None))
    except ValueError:
        complexity = Complexity.NORMAL
    estimate = times.estimate(op, complexity, queued)
    return DeliveryResult(
        operation=op.value,
        operation_label=_label(op.value),
        typical_minutes=times.typical(op, complexity),
        queued_ahead=queued,
        estimate_minutes=estimate,
        estimate_text=duration_text(estimate),
        designer_hours=times.designer_hours,
        task=task_view(task) if task is not None else None,
    )


def screen_request(ctx: RunContext[ShopDeps]) -> ScreenResult:
    """Check the customer's words against the shop's risk rules (伪造证件、改票据、去他人水印).

    A declined request opens nothing; one needing a look goes to staff.

    Call it before opening an order for a request that changes documents, certificates,
    invoices, seals, ID cards or removes a watermark.
    """
    deps = ctx.deps
    risk = assess_risk(RiskInput(request_text=deps.turn_text))
    reasons = [reason.message for reason in risk.reasons]

    def record(session: Session) -> None:
        if risk.decision is Decision.DECLINE:
            conversations.count_decline(
                session, deps.workflow.clock, deps.conversation_id, "；".join(reasons)
            )
        elif risk.decision is Decision.REVIEW:
            conversations.mark_needs_human(
                session,
                deps.workflow.clock,
                deps.conversation_id,
                HANDOFF_LABELS["risk_review"] + "：" + "；".join(reasons),
                notify=NotifyKind.RISK_REVIEW,
            )

    if risk.decision is not Decision.ACCEPT:
        deps.once(("screen",), lambda: _write(deps, record))
    return ScreenResult(
        decision=risk.decision.value,
        reasons=reasons,
        codes=[reason.code for reason in risk.reasons],
    )


SHOP_TOOLS: Final = (
    conversation_state,
    screen_request,
    estimate_delivery,
    analyse_and_quote_picture,
    create_task,
    change_operation,
    add_requirement,
    set_requirement_detail,
    list_my_tasks,
    confirm_receipt,
    show_price_list,
    find_image,
    hand_to_human,
)
"""Every tool the agent has; none pays, sets a price or reaches another customer's order."""

RESULT_MODELS: Final[dict[ToolName, type[BaseModel]]] = {
    ToolName.CONVERSATION_STATE: StateResult,
    ToolName.SCREEN_REQUEST: ScreenResult,
    ToolName.ESTIMATE_DELIVERY: DeliveryResult,
    ToolName.ANALYSE_AND_QUOTE_PICTURE: QuoteResult,
    ToolName.CREATE_TASK: QuoteResult,
    ToolName.CHANGE_OPERATION: ChangeResult,
    ToolName.ADD_REQUIREMENT: RequirementResult,
    ToolName.SET_REQUIREMENT_DETAIL: RequirementResult,
    ToolName.LIST_MY_TASKS: TaskListResult,
    ToolName.CONFIRM_RECEIPT: ConfirmResult,
    ToolName.SHOW_PRICE_LIST: PriceListResult,
    ToolName.FIND_IMAGE: FindImageResult,
    ToolName.HAND_TO_HUMAN: HandoffResult,
}
"""The result model each tool returns; the offline policy reads results through these."""
