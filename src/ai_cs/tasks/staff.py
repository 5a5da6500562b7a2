"""What shop staff and partner systems see of tasks (天网协作): search, details, timelines.

Services take a session and never commit. What staff *do* to a task is one of the shop's verbs
(:mod:`ai_cs.tasks.orders`), which logs every status change a staff member makes as a row of
``staff_actions`` read here. Visibility is one rule: a caller limited to some shop accounts (a
partner key's ``acc_ids``) gets ``task_not_found`` for any other shop's task, exactly as for a
task that does not exist, so ids of other shops cannot be probed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from ai_cs.core.tasks import TRANSITIONS, TaskStatus, check_id, parse_status, sources_of
from ai_cs.db.models import Job, OutboxMessage
from ai_cs.db.prepared import is_pg, prepared, run
from ai_cs.errors import InvalidArgument, TaskNotFound
from ai_cs.tasks.handoff import DISPATCH_TOPIC
from ai_cs.tasks.models import ImageTask, StaffAction
from ai_cs.tasks.schemas import StaffActionRead, task_to_dict

S = TaskStatus

REFUNDABLE: Final = sources_of(S.REFUNDED)
"""Statuses a task can be refunded from (the customer has paid, nothing is confirmed)."""

MAX_SEARCH_CHARS: Final = 100


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
@prepared
def _select_task(lock: bool) -> Any:
    # Built once (ai_cs.db.prepared): every API read and every verb starts with this row.
    table = ImageTask.__table__
    stmt = select(table).where(table.c.task_id == bindparam("w_task_id"))
    return stmt.with_for_update() if lock else stmt


def visible_task(
    session: Session, task_id: object, acc_ids: Sequence[str] | None, *, lock: bool = False
) -> dict[str, Any]:
    """The task if the caller may see it; ``task_not_found`` otherwise (no hint it exists).

    ``lock`` takes the row lock on PostgreSQL (``FOR UPDATE``) so the status read here is the
    one the following change starts from; SQLite write transactions are exclusive already.
    """
    tid = check_id("task_id", task_id)
    row = run(session, _select_task(lock and is_pg(session)), {"w_task_id": tid}).one_or_none()
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
    return [StaffActionRead.model_validate(r, from_attributes=True).model_dump() for r in rows]


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
    "allowed_actions",
    "check_text",
    "clean_reason",
    "dispatch_board",
    "dispatch_requests",
    "find_tasks",
    "jobs_of",
    "staff_actions",
    "visible_task",
]
