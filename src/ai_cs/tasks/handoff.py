"""One way into human hands (转人工派单).

Processing failed, the quality check failed, risk review, the customer asked for a human, a
find-image search found nothing: every path calls :func:`hand_to_designer`, which moves the task
to ``with_designer`` and writes the dispatch request into the outbox in the same transaction. The
outbox relay delivers it to the dispatch service (Tuhui) with the row's key as idempotency key,
so the request is neither lost (it commits with the status change) nor doubled.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ai_cs import datafiles
from ai_cs.clock import Clock, iso
from ai_cs.core.tasks import TaskStatus, sources_of
from ai_cs.db.models import OutboxMessage
from ai_cs.errors import InvalidArgument
from ai_cs.notify import NotifyKind, emit
from ai_cs.tasks import service
from ai_cs.tasks.models import ImageTask

DISPATCH_TOPIC = "dispatch"
MAX_REASON_CHARS = 500


def dispatch_payload(task: dict[str, Any], reason: str) -> dict[str, Any]:
    """What a designer needs: the picture, the operation, notes, analysis, quote and why."""
    return {
        "task_id": task["task_id"],
        "original_image": datafiles.best_original(task) or task["original_image"],
        "operation": task["operation"],
        "customer_notes": task["customer_notes"],
        "analysis": task["requirements"],
        "quote": task["quote"],
        "reason": reason,
        "acc_id": task["acc_id"],
        "acc_type": task["acc_type"],
        "customer_id": task["customer_id"],
    }


def enqueue_outbox(
    session: Session, clock: Clock, *, topic: str, key: str, payload: dict[str, Any]
) -> None:
    """Write one outbox message in the caller's transaction."""
    session.add(
        OutboxMessage(
            topic=topic,
            key=key,
            payload=json.dumps(payload, ensure_ascii=False),
            status="pending",
            attempts=0,
            next_attempt_at=clock.epoch(),
            created_at=iso(clock.now()),
        )
    )
    session.flush()


def hand_to_designer(
    session: Session,
    clock: Clock,
    task_id: str,
    reason: str,
    *,
    expected: frozenset[TaskStatus] | None = None,
    notify: NotifyKind | None = NotifyKind.HANDED_TO_DESIGNER,
) -> dict[str, Any]:
    """Move the task to ``with_designer`` and write its dispatch request (same transaction).

    ``expected`` narrows where the task may come from (default: every status the transition
    table allows, e.g. ``processing``, ``failed``, ``paid``, ``awaiting_confirm``). The shop's
    group is told too (``notify``: the kind of notice; ``None`` when the caller sends its own,
    so one situation makes one message).
    """
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidArgument("a hand-off needs a reason")
    reason = reason.strip()[:MAX_REASON_CHARS]
    allowed = expected if expected is not None else sources_of(TaskStatus.WITH_DESIGNER)
    task = service.transition(
        session,
        clock,
        task_id,
        TaskStatus.WITH_DESIGNER,
        expected=allowed,
        designer_reason=reason,
    )
    sent_before = session.execute(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.topic == DISPATCH_TOPIC, OutboxMessage.key.like(f"dispatch:{task_id}:%")
        )
    ).scalar_one()
    key = f"dispatch:{task_id}:{int(sent_before) + 1}"
    enqueue_outbox(
        session, clock, topic=DISPATCH_TOPIC, key=key, payload=dispatch_payload(task, reason)
    )
    if notify is not None:
        emit(session, clock, notify, key=key, task_id=task_id, reason=reason)
    return task


def tasks_with_designer(session: Session) -> list[str]:
    """Ids of tasks a human designer has now."""
    return list(
        session.execute(
            select(ImageTask.task_id).where(ImageTask.status == TaskStatus.WITH_DESIGNER.value)
        ).scalars()
    )
