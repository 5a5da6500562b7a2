"""The shop's verbs: each one owns every rule of what it does to an order.

Quote a picture, change the operation, add a note or a requirement, apply a payment, refund or
close by the platform's order id, confirm, revise, hand to a designer, retry, cancel. The agent's
tools, the gateway, the API routes, the console, the CLI and ``Workflow`` call these and nothing
below them, so a rule (who may see the order, which statuses allow the change, what is logged,
which time is stamped, who is told) is written once.

Verbs take a session and never commit: the edge (a ``Workflow`` method, a route, a tool, the
gateway processor) opens the transaction and commits it. Who acts is a :class:`Caller`: a
customer reaches only their own orders, a staff member or partner only their shops' orders (a
task of another shop is ``task_not_found``, exactly like one that does not exist), and a staff
member's status changes are logged in ``staff_actions``. Verbs return :class:`Order` (or a small
result that holds one), never a dict.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ai_cs.clock import Clock, iso
from ai_cs.conversations import service as conversations
from ai_cs.core.operations import customer_label
from ai_cs.core.pricing import PriceTable
from ai_cs.core.quoting import reassess
from ai_cs.core.risk import Decision
from ai_cs.core.tasks import (
    Actor,
    ChangeType,
    TaskStatus,
    check_can_add_requirement,
    check_can_modify_operation,
    check_id,
    parse_operation,
    sources_of,
)
from ai_cs.errors import Conflict, NotTaskOwner
from ai_cs.jobs.queue import PROCESS_TASK, JobQueue, JobSpec
from ai_cs.notify import NotifyKind
from ai_cs.tasks import handoff, service, staff
from ai_cs.tasks.models import ImageTask, StaffAction, TaskRequirementChange
from ai_cs.tasks.schemas import Order
from ai_cs.tasks.service import Paid, apply_payment

if TYPE_CHECKING:
    from ai_cs.config import Settings
    from ai_cs.db.database import Database
    from ai_cs.imaging.ocr import OcrEngine
    from ai_cs.imaging.report import CustomerHistory, PictureReport

S = TaskStatus

REPEATED_NOTE_WINDOW: Final = timedelta(minutes=10)
"""The same note from the customer again within this window is a re-run turn, not a new note."""
REVIEW_LABEL: Final = "图片需要人工审核"
REVISION_LABEL: Final = "客户对结果不满意，要求修改"


# ------------------------------------------------------------------------------------ who acts
@dataclass(frozen=True)
class Caller:
    """Who asks for a verb: what they may reach, what the history says, what is logged.

    ``customer_id`` limits the caller to that customer's orders and ``shop`` (platform, account)
    to that shop's — a buyer id names one person only inside one shop; ``acc_ids`` limits staff
    to those shop accounts' orders; ``staff_name`` logs every status change in ``staff_actions``;
    ``conversation_id`` is the chat the request came from (flags and the current order go there).
    """

    actor: Actor
    customer_id: str | None = None
    conversation_id: str | None = None
    acc_ids: tuple[str, ...] | None = None
    staff_name: str | None = None
    key_id: str | None = None
    shop: tuple[str, str] | None = None

    @classmethod
    def customer(
        cls,
        customer_id: str,
        conversation_id: str | None = None,
        *,
        platform: str | None = None,
        account_id: str | None = None,
    ) -> Caller:
        """A buyer acting on their own orders (from a chat, the seed API, the CLI).

        From a marketplace chat the buyer is known only inside its shop: ``platform`` and
        ``account_id`` keep them to that shop's orders.
        """
        shop = (platform or "", account_id or "") if platform or account_id else None
        return cls(
            Actor.CUSTOMER,
            customer_id=check_id("customer_id", customer_id),
            conversation_id=conversation_id,
            shop=shop,
        )

    @classmethod
    def staff(
        cls, name: str, *, key_id: str | None = None, acc_ids: Sequence[str] | None = None
    ) -> Caller:
        """A staff member or partner system, limited to ``acc_ids`` when given."""
        return cls(
            Actor.STAFF,
            acc_ids=tuple(acc_ids) if acc_ids is not None else None,
            staff_name=name,
            key_id=key_id,
        )


SHOP: Final = Caller(Actor.STAFF)
"""The shop itself: the platform's order events and the seed API's calls without a customer."""


def _target(session: Session, task_id: object, caller: Caller, *, lock: bool = False) -> Order:
    order = Order.of(staff.visible_task(session, task_id, caller.acc_ids, lock=lock))
    in_shop = caller.shop is None or (order.acc_type or "", order.acc_id or "") == caller.shop
    if caller.customer_id is not None and (order.customer_id != caller.customer_id or not in_shop):
        raise NotTaskOwner(
            f"task {order.task_id!r} does not belong to customer {caller.customer_id!r}",
            task_id=order.task_id,
        )
    return order


def _log(
    session: Session,
    clock: Clock,
    caller: Caller,
    before: Order,
    action: str,
    to_status: TaskStatus,
    detail: str | None = None,
) -> None:
    if caller.staff_name is None:
        return
    session.add(
        StaffAction(
            task_id=before.task_id,
            action=action,
            from_status=before.status,
            to_status=to_status.value,
            detail=detail,
            actor=caller.staff_name[:200],
            key_id=caller.key_id,
            created_at=iso(clock.now()),
        )
    )
    session.flush()


def _move(
    session: Session,
    clock: Clock,
    task_id: object,
    caller: Caller,
    target: TaskStatus,
    expected: Iterable[TaskStatus],
    *,
    action: str,
    detail: str | None = None,
    **fields: Any,
) -> Order:
    before = _target(session, task_id, caller, lock=True)
    moved = service.transition(session, clock, before.task_id, target, expected=expected, **fields)
    _log(session, clock, caller, before, action, target, detail)
    return Order.of(moved)


# ------------------------------------------------------------------------------ quote a picture
@dataclass(frozen=True)
class Buyer:
    """Who a new order is for and where it came from."""

    customer_id: str
    conversation_id: str | None = None
    name: str | None = None
    acc_id: str | None = None
    acc_type: str | None = None


@dataclass(frozen=True)
class Quoted:
    """What quoting a picture did: the report, and the order when one was opened."""

    report: PictureReport
    order: Order | None

    @property
    def decision(self) -> Decision:
        """Accept (an order is open), review (staff look first) or decline (nothing opened)."""
        return self.report.risk.decision

    @property
    def reasons(self) -> list[str]:
        """The risk rules' reasons, in the customer's language."""
        return [reason.message for reason in self.report.risk.reasons]


def picture_history(session: Session, customer_id: str) -> CustomerHistory:
    """What the risk rules know of the customer: refunded orders and declined pictures."""
    from ai_cs.imaging.report import CustomerHistory

    _, refunds = service.list_tasks(
        session, customer_id=customer_id, status=S.REFUNDED.value, limit=1
    )
    return CustomerHistory(
        refunds=refunds, declines=conversations.customer_declines(session, customer_id)
    )


def analyse_picture(
    db: Database,
    settings: Settings,
    source: str,
    *,
    customer_id: str,
    operation: object = None,
    request_text: str = "",
    ocr: OcrEngine | None = None,
) -> PictureReport:
    """Intake, analysis, risk and quote of a picture, before any order exists.

    Not a verb: it reads the customer's history in its own read transaction and then fetches
    and analyses the picture outside any transaction (a URL may take seconds), so no write lock
    is held meanwhile. :func:`quote_picture` then acts on the report in the write transaction.
    """
    from ai_cs.imaging.report import analyze_source

    with db.read() as session:
        history = picture_history(session, customer_id)
    return analyze_source(
        source,
        settings,
        operation=parse_operation(operation) if operation is not None else None,
        request_text=request_text,
        ocr=ocr,
        history=history,
    )


def quote_picture(
    session: Session,
    clock: Clock,
    report: PictureReport,
    *,
    source: str,
    buyer: Buyer,
    task_id: str | None = None,
) -> Quoted:
    """Act on an analysed picture: open the payable order only when the shop can take it.

    ``accept``: the order (待付款) with the analysis, the stored copy of the picture, the quote
    and the risk, and it becomes the conversation's current order. ``review``: no order — a
    payable order would let the customer pay for a job a person has not looked at; the
    conversation is flagged for staff. ``decline``: no order; the decline counts against the
    customer's history.
    """
    conversation = buyer.conversation_id
    reasons = "；".join(reason.message for reason in report.risk.reasons)
    if report.risk.decision is Decision.DECLINE:
        if conversation is not None:
            conversations.count_decline(session, clock, conversation, reasons)
        return Quoted(report, None)
    if report.risk.decision is Decision.REVIEW:
        if conversation is not None:
            conversations.mark_needs_human(
                session,
                clock,
                conversation,
                f"{REVIEW_LABEL}：{reasons}",
                notify=NotifyKind.RISK_REVIEW,
            )
        return Quoted(report, None)
    data = report.to_json()
    requirements = {
        **report.analysis.to_requirements(),
        "stored_image": report.image.key,
        "image_sha256": report.image.sha256,
    }
    created = service.create_task(
        session,
        clock,
        customer_id=buyer.customer_id,
        original_image=source,
        operation=report.operation.value,
        customer_name=buyer.name,
        requirements=requirements,
        acc_id=buyer.acc_id,
        acc_type=buyer.acc_type,
        price_fen=report.quote.total_fen,
        quote=data["quote"],
        risk=data["risk"],
        conversation_id=conversation,
        task_id=task_id,
    )
    if conversation is not None:
        conversations.set_current_task(session, conversation, created["task_id"])
    return Quoted(report, Order.of(created))


# ----------------------------------------------------------------------- change the operation
@dataclass(frozen=True)
class OperationChanged:
    """An operation change: the order before and after, or why a person must decide first."""

    order: Order
    previous: Order
    review: tuple[str, ...] = ()
    """The risk rules' reasons when the new job needs a person's look (nothing was changed)."""

    @property
    def unchanged(self) -> bool:
        """The order already had this operation."""
        return not self.review and self.order.operation == self.previous.operation


def change_operation(
    session: Session,
    clock: Clock,
    prices: PriceTable,
    task_id: object,
    operation: object,
    caller: Caller,
    *,
    request_text: str = "",
) -> OperationChanged:
    """Change what is done to an unpaid order; the quote follows from the configured prices.

    A customer's change passes the risk rules again for the new job on the same picture (改为
    去水印 on a certificate is not the 变清晰 that was accepted): one that needs a look changes
    nothing and flags the conversation. Staff decide for themselves.
    """
    op = parse_operation(operation)
    before = _target(session, task_id, caller, lock=True)
    if before.operation == op.value:
        return OperationChanged(before, before)
    check_can_modify_operation(before.task_id, S(before.status))
    if caller.actor is Actor.CUSTOMER:
        risk = reassess(before.details, op, request_text)
        if risk.decision is not Decision.ACCEPT:
            reasons = tuple(r.message for r in risk.reasons)
            if caller.conversation_id is not None:
                conversations.mark_needs_human(
                    session,
                    clock,
                    caller.conversation_id,
                    f"客户要求把订单 {before.task_id} 改为{customer_label(op)}，需人工确认："
                    + "；".join(reasons),
                    notify=NotifyKind.RISK_REVIEW,
                    task_id=before.task_id,
                )
            return OperationChanged(before, before, review=reasons)
    changed = service.modify_operation(
        session,
        clock,
        task_id=before.task_id,
        new_operation=op.value,
        actor=caller.actor,
        price_table=prices,
    )
    if caller.conversation_id is not None:
        conversations.set_current_task(session, caller.conversation_id, before.task_id)
    return OperationChanged(Order.of(changed), before)


# ------------------------------------------------------------------- notes and requirements
@dataclass(frozen=True)
class Noted:
    """A note or requirement on an order; ``repeated`` when it was already there."""

    order: Order
    repeated: bool = False


def _just_noted(session: Session, clock: Clock, task_id: str, note: str) -> bool:
    """Whether the task's newest change is this very note from the customer, added just now."""
    last = session.execute(
        select(TaskRequirementChange)
        .where(TaskRequirementChange.task_id == task_id)
        .order_by(TaskRequirementChange.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if last is None or last.change_type != ChangeType.ADD_NOTE or last.changed_by != "customer":
        return False
    if (last.new_value or "").strip() != note.strip() or not last.changed_at:
        return False
    return clock.now() - datetime.fromisoformat(last.changed_at) <= REPEATED_NOTE_WINDOW


def add_note(
    session: Session, clock: Clock, task_id: object, text: object, caller: Caller
) -> Noted:
    """Append ``[MM-DD HH:MM] text`` to the order's notes (only before payment).

    Idempotent per chat turn: the same note from the customer's conversation again within
    minutes (a turn re-run after a crash, a message sent twice) is not stored twice.
    """
    before = _target(session, task_id, caller)
    note = staff.check_text("requirement", text)
    check_can_add_requirement(before.task_id, S(before.status))
    from_chat = caller.actor is Actor.CUSTOMER and caller.conversation_id is not None
    if from_chat and _just_noted(session, clock, before.task_id, note):
        return Noted(before, repeated=True)
    added = service.add_requirement(
        session,
        clock,
        task_id=before.task_id,
        requirement=note,
        actor=caller.actor,
    )
    return Noted(Order.of(added))


def set_requirement(
    session: Session, clock: Clock, task_id: object, key: object, value: object, caller: Caller
) -> Noted:
    """Set one structured requirement (size, background, format, deadline …) before payment."""
    before = _target(session, task_id, caller)
    updated = service.add_requirement_detail(
        session,
        clock,
        task_id=before.task_id,
        key=key,
        value=value,
        actor=caller.actor,
    )
    return Noted(Order.of(updated))


# ------------------------------------------------------------------------------------ payment
def refund_platform_order(
    session: Session, clock: Clock, order_id: str, *, platform: str = "", account_id: str = ""
) -> Order | None:
    """The platform refunded an order: the task its payment paid ``→ refunded``.

    ``None`` when no payment of that order id is known in that shop (nothing to stop).
    """
    payment = service.existing_payment(session, order_id, platform=platform, account_id=account_id)
    if payment is None or payment.task_id is None:
        return None
    return refund(session, clock, payment.task_id, SHOP)


def confirm_platform_order(
    session: Session, clock: Clock, order_id: str, *, platform: str = "", account_id: str = ""
) -> Order | None:
    """The buyer confirmed receipt on the platform (确认收货): the order it paid ``→ completed``.

    ``None`` when that shop knows no applied payment of the order id. An order completed
    already (confirmed in chat or by staff first) is returned as it is.
    """
    payment = service.existing_payment(session, order_id, platform=platform, account_id=account_id)
    if payment is None or payment.task_id is None or payment.outcome != service.APPLIED:
        return None
    current = _target(session, payment.task_id, SHOP)
    if current.status == S.COMPLETED:
        return current
    return confirm(session, clock, payment.task_id, SHOP)


@dataclass(frozen=True)
class Closed:
    """A closed platform order: the cancelled order, or why none was."""

    order: Order | None
    paid_task_id: str | None = None
    """Set when the order id paid a task: a paid task is never cancelled by a close."""


def _unpaid_task_for(
    session: Session, customer_id: str, amount_fen: int | None, platform: str, account_id: str
) -> str | None:
    """The pending task an unpaid order stands for: same price if known, else the newest.

    With a shop named, only that shop's tasks (another shop's close never cancels them).
    """
    stmt = select(ImageTask.task_id, ImageTask.price_fen).where(
        ImageTask.customer_id == customer_id, ImageTask.status == S.PENDING.value
    )
    if platform or account_id:
        stmt = stmt.where(
            func.coalesce(ImageTask.acc_type, "") == platform,
            func.coalesce(ImageTask.acc_id, "") == account_id,
        )
    rows = session.execute(
        stmt.order_by(ImageTask.created_at.desc(), ImageTask.task_id.desc())
    ).all()
    if not rows:
        return None
    if amount_fen is not None:
        return next((str(tid) for tid, price in rows if price == amount_fen), None)
    return str(rows[0][0])


def close_platform_order(
    session: Session,
    clock: Clock,
    *,
    order_id: str,
    customer_id: str,
    amount_fen: int | None,
    platform: str = "",
    account_id: str = "",
) -> Closed:
    """The platform closed an unpaid order: the pending task it stands for ``→ cancelled``."""
    payment = service.existing_payment(session, order_id, platform=platform, account_id=account_id)
    if payment is not None and payment.outcome == service.APPLIED:
        return Closed(None, paid_task_id=payment.task_id)
    task_id = _unpaid_task_for(session, customer_id, amount_fen, platform, account_id)
    if task_id is None:
        return Closed(None)
    return Closed(cancel(session, clock, task_id, SHOP))


# ------------------------------------------------------------------------- after processing
def confirm(session: Session, clock: Clock, task_id: object, caller: Caller) -> Order:
    """The result is accepted (确认收货): ``awaiting_confirm → completed`` (stamps completed_at)."""
    return _move(
        session, clock, task_id, caller, S.COMPLETED, [S.AWAITING_CONFIRM], action="confirm"
    )


def hand_to_designer(
    session: Session,
    clock: Clock,
    task_id: object,
    reason: object,
    caller: Caller,
    *,
    notify: NotifyKind | None = NotifyKind.HANDED_TO_DESIGNER,
) -> Order:
    """Hand a paid order to a human designer (转人工派单) with the dispatch request, at once.

    ``notify`` is the shop group's notice (``None`` when the caller's own notice names the
    order, so one situation makes one message).
    """
    text = staff.clean_reason(reason, required=True)
    assert text is not None
    before = _target(session, task_id, caller, lock=True)
    handed = handoff.hand_to_designer(session, clock, before.task_id, text, notify=notify)
    _log(session, clock, caller, before, "hand_to_designer", S.WITH_DESIGNER, text)
    return Order.of(handed)


def revise(
    session: Session, clock: Clock, task_id: object, wanted: str | None, caller: Caller
) -> Order:
    """The customer wants the result changed (不满意要修改): a designer takes the order over.

    The designer reads what the customer asked for in the reason; the conversation's own flag
    tells the shop, so the hand-off sends no second notice.
    """
    said = (wanted or "").strip()[:300]
    reason = f"{REVISION_LABEL}：{said}" if said else REVISION_LABEL
    return hand_to_designer(session, clock, task_id, reason, caller, notify=None)


def retry(
    session: Session, clock: Clock, queue: JobQueue, task_id: object, caller: Caller
) -> Order:
    """Run processing again: ``failed → processing`` and a new job, in one transaction."""
    moved = _move(
        session,
        clock,
        task_id,
        caller,
        S.PROCESSING,
        [S.FAILED],
        action="retry",
        retry_count=func.coalesce(ImageTask.retry_count, 0) + 1,
    )
    try:
        queue.enqueue(
            session,
            JobSpec(kind=PROCESS_TASK, task_id=moved.task_id, payload={"retry_by": "staff"}),
        )
    except IntegrityError:
        # A job for this task is still queued or running; the edge rolls the status back too.
        raise Conflict(
            f"task {moved.task_id!r} already has a processing job", task_id=moved.task_id
        ) from None
    return moved


def cancel(
    session: Session, clock: Clock, task_id: object, caller: Caller, *, reason: object = None
) -> Order:
    """Close an unpaid order: ``pending → cancelled``."""
    return _close(session, clock, task_id, caller, S.CANCELLED, reason)


def refund(
    session: Session, clock: Clock, task_id: object, caller: Caller, *, reason: object = None
) -> Order:
    """A paid order's money goes back (on the marketplace): ``→ refunded``, processing stops."""
    return _close(session, clock, task_id, caller, S.REFUNDED, reason)


def _close(
    session: Session,
    clock: Clock,
    task_id: object,
    caller: Caller,
    target: TaskStatus,
    reason: object,
) -> Order:
    action = "cancel" if target is S.CANCELLED else "refund"
    detail = staff.clean_reason(reason, required=False)
    return _move(
        session, clock, task_id, caller, target, sources_of(target), action=action, detail=detail
    )


DESIGNER_SOURCES: Final = frozenset(sources_of(S.WITH_DESIGNER))
"""Statuses from which an order can go to a designer."""


__all__ = [
    "DESIGNER_SOURCES",
    "SHOP",
    "Buyer",
    "Caller",
    "Closed",
    "Noted",
    "OperationChanged",
    "Order",
    "Paid",
    "Quoted",
    "add_note",
    "analyse_picture",
    "apply_payment",
    "cancel",
    "change_operation",
    "close_platform_order",
    "confirm",
    "confirm_platform_order",
    "hand_to_designer",
    "picture_history",
    "quote_picture",
    "refund",
    "refund_platform_order",
    "retry",
    "revise",
    "set_requirement",
]
