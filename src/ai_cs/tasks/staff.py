"""What shop staff and partner systems do to tasks (天网协作): see, search, and act.

Services take a session and never commit. Every status change goes through
:func:`ai_cs.tasks.service.transition` (a compare-and-set UPDATE) and is logged as a row of
``staff_actions`` in the same transaction, so the console's timeline shows who cancelled,
refunded, retried or handed a task over, and when. Visibility is one rule: a caller limited to
some shop accounts (a partner key's ``acc_ids``) gets ``task_not_found`` for any other shop's
task, exactly as for a task that does not exist, so ids of other shops cannot be probed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Final

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ai_cs.clock import Clock, iso
from ai_cs.core.pricing import PriceTable
from ai_cs.core.tasks import TRANSITIONS, Actor, TaskStatus, check_id, parse_status
from ai_cs.db.models import Job, OutboxMessage
from ai_cs.errors import Conflict, InvalidArgument, TaskNotFound
from ai_cs.jobs.queue import PROCESS_TASK, JobQueue, JobSpec
from ai_cs.tasks import service
from ai_cs.tasks.handoff import DISPATCH_TOPIC, hand_to_designer
from ai_cs.tasks.models import ImageTask, StaffAction
from ai_cs.tasks.schemas import task_to_dict

S = TaskStatus

REFUNDABLE: Final = frozenset({S.PAID, S.PROCESSING, S.FAILED, S.WITH_DESIGNER, S.AWAITING_CONFIRM})
"""Statuses a task can be refunded from (the customer has paid, nothing is confirmed)."""

MAX_SEARCH_CHARS: Final = 100


def _action_to_dict(row: StaffAction) -> dict[str, Any]:
    return {
        "id": row.id,
        "task_id": row.task_id,
        "action": row.action,
        "from_status": row.from_status,
        "to_status": row.to_status,
        "detail": row.detail,
        "actor": row.actor,
        "created_at": row.created_at,
    }


MAX_REASON_CHARS: Final = 500


def check_text(name: str, value: object) -> str:
    r"""``value`` if it is a string that can be stored, else :class:`InvalidArgument`.

    JSON may carry lone surrogates (``"\ud800"``) that neither SQLite nor PostgreSQL can store
    (they are not UTF-8), and PostgreSQL refuses NUL bytes; both are refused here, up front,
    rather than failing inside the database.
    """
    if not isinstance(value, str):
        raise InvalidArgument(f"{name} must be a string, got {type(value).__name__}")
    if "\x00" in value or any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise InvalidArgument(f"{name} contains characters that are not valid text")
    return value


def clean_reason(value: object, *, required: bool) -> str | None:
    """A reason for a hand-off, cancel or refund: control characters dropped, trimmed."""
    if value is None and not required:
        return None
    text = check_text("reason", value)
    text = "".join(ch for ch in text if ch in "\n\t" or ord(ch) >= 32).strip()
    if not text:
        if required:
            raise InvalidArgument("a reason is needed")
        return None
    if len(text) > MAX_REASON_CHARS:
        raise InvalidArgument(f"reason is longer than {MAX_REASON_CHARS} characters")
    return text


# ---------------------------------------------------------------------------------- reading
def visible_task(
    session: Session, task_id: object, acc_ids: Sequence[str] | None, *, lock: bool = False
) -> dict[str, Any]:
    """The task if the caller may see it; ``task_not_found`` otherwise (no hint it exists).

    ``lock`` takes the row lock on PostgreSQL (``FOR UPDATE``) so the status read here is the
    one the following change starts from; SQLite write transactions are exclusive already.
    """
    tid = check_id("task_id", task_id)
    stmt = select(ImageTask).where(ImageTask.task_id == tid)
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = session.execute(stmt).scalar_one_or_none()
    if row is None or (acc_ids is not None and row.acc_id not in acc_ids):
        raise TaskNotFound(f"task {tid!r} not found", task_id=tid)
    return task_to_dict(row)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def find_tasks(
    session: Session,
    *,
    status: str | None = None,
    customer_id: str | None = None,
    acc_id: str | None = None,
    query: str | None = None,
    acc_ids: Sequence[str] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Tasks newest first, filtered, limited to ``acc_ids``; returns ``(page, total)``.

    ``query`` searches task id, customer id and name, shop account and the notes (搜索).
    """
    stmt = select(ImageTask)
    if status is not None:
        stmt = stmt.where(ImageTask.status == parse_status(status).value)
    if customer_id is not None:
        stmt = stmt.where(ImageTask.customer_id == check_id("customer_id", customer_id))
    if acc_id is not None:
        stmt = stmt.where(ImageTask.acc_id == check_id("acc_id", acc_id))
    if acc_ids is not None:
        stmt = stmt.where(ImageTask.acc_id.in_(list(acc_ids)))
    if query is not None and query.strip():
        text = check_text("search text", query).strip()
        if len(text) > MAX_SEARCH_CHARS or any(ord(ch) < 32 for ch in text):
            raise InvalidArgument(f"search text must be at most {MAX_SEARCH_CHARS} characters")
        pattern = _like_pattern(text)
        stmt = stmt.where(
            or_(
                *(
                    column.like(pattern, escape="\\")
                    for column in (
                        ImageTask.task_id,
                        ImageTask.customer_id,
                        ImageTask.customer_name,
                        ImageTask.acc_id,
                        ImageTask.customer_notes,
                    )
                )
            )
        )
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(
        stmt.order_by(ImageTask.created_at.desc(), ImageTask.task_id.desc())
        .limit(max(1, min(limit, 500)))
        .offset(max(0, offset))
    ).scalars()
    return [task_to_dict(r) for r in rows], int(total)


def staff_actions(session: Session, task_id: str) -> list[dict[str, Any]]:
    """The task's staff actions, newest first."""
    rows = session.execute(
        select(StaffAction)
        .where(StaffAction.task_id == task_id)
        .order_by(StaffAction.created_at.desc(), StaffAction.id.desc())
    ).scalars()
    return [_action_to_dict(r) for r in rows]


def dispatch_requests(session: Session, task_id: str) -> list[dict[str, Any]]:
    """The task's requests to the dispatch service (派单) as the outbox holds them."""
    rows = session.execute(
        select(OutboxMessage)
        .where(
            OutboxMessage.topic == DISPATCH_TOPIC,
            OutboxMessage.key.startswith(f"dispatch:{task_id}:", autoescape=True),
        )
        .order_by(OutboxMessage.id.desc())
    ).scalars()
    out = []
    for r in rows:
        try:
            reason = json.loads(r.payload).get("reason")
        except (ValueError, AttributeError):
            reason = None
        out.append(
            {
                "key": r.key,
                "status": r.status,
                "attempts": r.attempts,
                "reason": reason,
                "last_error": r.last_error,
                "created_at": r.created_at,
                "sent_at": r.sent_at,
            }
        )
    return out


def dispatch_board(
    session: Session, acc_ids: Sequence[str] | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Dispatch requests newest first, each with its task's current status (派单状态)."""
    rows = list(
        session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.topic == DISPATCH_TOPIC)
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        ).scalars()
    )
    payloads: list[dict[str, Any]] = []
    for r in rows:
        try:
            payload = json.loads(r.payload)
        except ValueError:
            payload = {}
        payloads.append(payload if isinstance(payload, dict) else {})
    task_ids = {str(p.get("task_id")) for p in payloads if p.get("task_id")}
    tasks = {
        t.task_id: t
        for t in session.execute(select(ImageTask).where(ImageTask.task_id.in_(task_ids))).scalars()
    }
    out = []
    for r, payload in zip(rows, payloads, strict=True):
        task = tasks.get(str(payload.get("task_id")))
        if task is None or (acc_ids is not None and task.acc_id not in acc_ids):
            continue
        out.append(
            {
                "key": r.key,
                "task_id": task.task_id,
                "task_status": task.status,
                "operation": task.operation,
                "reason": payload.get("reason"),
                "status": r.status,
                "attempts": r.attempts,
                "last_error": r.last_error,
                "created_at": r.created_at,
                "sent_at": r.sent_at,
            }
        )
    return out


def jobs_of(session: Session, task_id: str) -> list[dict[str, Any]]:
    """The task's processing jobs, newest first."""
    rows = session.execute(
        select(Job).where(Job.task_id == task_id).order_by(Job.id.desc()).limit(20)
    ).scalars()
    return [
        {
            "id": r.id,
            "kind": r.kind,
            "status": r.status,
            "attempts": r.attempts,
            "max_attempts": r.max_attempts,
            "last_error": r.last_error,
            "created_at": r.created_at,
            "finished_at": r.finished_at,
        }
        for r in rows
    ]


# ---------------------------------------------------------------------------------- acting
def _log(
    session: Session,
    clock: Clock,
    *,
    task_id: str,
    action: str,
    actor: str,
    key_id: str | None,
    from_status: str | None = None,
    to_status: str | None = None,
    detail: str | None = None,
) -> None:
    session.add(
        StaffAction(
            task_id=task_id,
            action=action,
            from_status=from_status,
            to_status=to_status,
            detail=detail,
            actor=actor[:200],
            key_id=key_id,
            created_at=iso(clock.now()),
        )
    )
    session.flush()


def _move(
    session: Session,
    clock: Clock,
    task_id: object,
    target: TaskStatus,
    expected: Iterable[TaskStatus],
    *,
    action: str,
    acc_ids: Sequence[str] | None,
    actor: str,
    key_id: str | None,
    detail: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    before = visible_task(session, task_id, acc_ids, lock=True)
    tid = before["task_id"]
    task = service.transition(session, clock, tid, target, expected=expected, **fields)
    _log(
        session,
        clock,
        task_id=tid,
        action=action,
        actor=actor,
        key_id=key_id,
        from_status=before["status"],
        to_status=target.value,
        detail=detail,
    )
    return task


def add_note(
    session: Session,
    clock: Clock,
    task_id: object,
    requirement: object,
    *,
    acc_ids: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Staff adds a requirement to the notes (``changed_by = staff``; only before payment)."""
    tid = visible_task(session, task_id, acc_ids)["task_id"]
    return service.add_requirement(
        session,
        clock,
        task_id=tid,
        customer_id=None,
        requirement=check_text("requirement", requirement),
        actor=Actor.STAFF,
    )


def change_operation(
    session: Session,
    clock: Clock,
    task_id: object,
    operation: object,
    *,
    acc_ids: Sequence[str] | None = None,
    price_table: PriceTable | None = None,
) -> dict[str, Any]:
    """Staff changes the operation (only before payment: ``operation_locked_after_payment``)."""
    tid = visible_task(session, task_id, acc_ids)["task_id"]
    return service.modify_operation(
        session,
        clock,
        task_id=tid,
        customer_id=None,
        new_operation=check_text("operation", operation),
        actor=Actor.STAFF,
        price_table=price_table,
    )


def confirm(
    session: Session,
    clock: Clock,
    task_id: object,
    *,
    acc_ids: Sequence[str] | None = None,
    actor: str,
    key_id: str | None = None,
) -> dict[str, Any]:
    """Confirm the result for the customer: ``awaiting_confirm → completed``."""
    return _move(
        session,
        clock,
        task_id,
        S.COMPLETED,
        [S.AWAITING_CONFIRM],
        action="confirm",
        acc_ids=acc_ids,
        actor=actor,
        key_id=key_id,
    )


def hand_over(
    session: Session,
    clock: Clock,
    task_id: object,
    reason: object,
    *,
    acc_ids: Sequence[str] | None = None,
    actor: str,
    key_id: str | None = None,
) -> dict[str, Any]:
    """Hand the task to a human designer (转人工派单) with a reason.

    The dispatch request is written to the outbox in the same transaction by
    :func:`~ai_cs.tasks.handoff.hand_to_designer`.
    """
    text = clean_reason(reason, required=True)
    assert text is not None
    before = visible_task(session, task_id, acc_ids, lock=True)
    tid = before["task_id"]
    task = hand_to_designer(session, clock, tid, text)
    _log(
        session,
        clock,
        task_id=tid,
        action="hand_to_designer",
        actor=actor,
        key_id=key_id,
        from_status=before["status"],
        to_status=S.WITH_DESIGNER.value,
        detail=text,
    )
    return task


def retry(
    session: Session,
    clock: Clock,
    queue: JobQueue,
    task_id: object,
    *,
    acc_ids: Sequence[str] | None = None,
    actor: str,
    key_id: str | None = None,
) -> dict[str, Any]:
    """Run processing again: ``failed → processing`` and a new job, in one transaction."""
    task = _move(
        session,
        clock,
        task_id,
        S.PROCESSING,
        [S.FAILED],
        action="retry",
        acc_ids=acc_ids,
        actor=actor,
        key_id=key_id,
        retry_count=func.coalesce(ImageTask.retry_count, 0) + 1,
    )
    try:
        queue.enqueue(
            session,
            JobSpec(kind=PROCESS_TASK, task_id=task["task_id"], payload={"retry_by": "staff"}),
        )
    except IntegrityError:
        # A job for this task is still queued or running; the edge rolls the status back too.
        raise Conflict(
            f"task {task['task_id']!r} already has a processing job", task_id=task["task_id"]
        ) from None
    return task


def cancel(
    session: Session,
    clock: Clock,
    task_id: object,
    *,
    acc_ids: Sequence[str] | None = None,
    actor: str,
    key_id: str | None = None,
    reason: object = None,
) -> dict[str, Any]:
    """Close an unpaid task: ``pending → cancelled``."""
    return _move(
        session,
        clock,
        task_id,
        S.CANCELLED,
        [S.PENDING],
        action="cancel",
        acc_ids=acc_ids,
        actor=actor,
        key_id=key_id,
        detail=clean_reason(reason, required=False),
    )


def refund(
    session: Session,
    clock: Clock,
    task_id: object,
    *,
    acc_ids: Sequence[str] | None = None,
    actor: str,
    key_id: str | None = None,
    reason: object = None,
) -> dict[str, Any]:
    """Mark a paid task refunded (the money goes back on the marketplace): ``→ refunded``."""
    return _move(
        session,
        clock,
        task_id,
        S.REFUNDED,
        REFUNDABLE,
        action="refund",
        acc_ids=acc_ids,
        actor=actor,
        key_id=key_id,
        detail=clean_reason(reason, required=False),
    )


STAFF_ACTIONS: Final = ("confirm", "hand_to_designer", "retry", "cancel", "refund")


def allowed_actions(status: str | None) -> list[str]:
    """The staff actions that make sense for a task in ``status`` (buttons in the console)."""
    try:
        current = TaskStatus(status or "")
    except ValueError:
        return []
    allowed: list[str] = []
    if current is S.AWAITING_CONFIRM:
        allowed.append("confirm")
    if (current, S.WITH_DESIGNER) in TRANSITIONS:
        allowed.append("hand_to_designer")
    if current is S.FAILED:
        allowed.append("retry")
    if current is S.PENDING:
        allowed.append("cancel")
    if current in REFUNDABLE:
        allowed.append("refund")
    return allowed


__all__ = [
    "REFUNDABLE",
    "STAFF_ACTIONS",
    "StaffAction",
    "add_note",
    "allowed_actions",
    "cancel",
    "check_text",
    "clean_reason",
    "change_operation",
    "confirm",
    "dispatch_board",
    "dispatch_requests",
    "find_tasks",
    "hand_over",
    "jobs_of",
    "refund",
    "retry",
    "staff_actions",
    "visible_task",
]
