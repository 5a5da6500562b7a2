"""What the shop is told about, and the one function that records it (:func:`emit`).

Callers name the event's kind and its subject (a task, a conversation, a marketplace account)
and add the facts only they know (a reason, a customer's nickname). For a task the rest is read
from the task row in the same session: customer, operation, price, shop account. Nothing is sent
here: the row commits (or rolls back) with the caller's change and the relay
(:mod:`ai_cs.notify.relay`) sends it later, so a slow or dead chat robot never holds up an order.
"""

from __future__ import annotations

import json
import uuid
from enum import StrEnum
from typing import Any, Final, TypedDict, Unpack

from sqlalchemy import bindparam, column, select, table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ai_cs.clock import Clock, iso
from ai_cs.db.prepared import is_pg, prepared, run
from ai_cs.notify.models import NotifyEvent

MAX_FACT_CHARS: Final = 300


class NotifyKind(StrEnum):
    """Kinds of notice; the value is stored and sent to the generic webhook."""

    HANDED_TO_DESIGNER = "handed_to_designer"
    PROCESSING_FAILED = "processing_failed"
    RISK_REVIEW = "risk_review"
    DECLINED = "declined"
    NEEDS_HUMAN = "needs_human"
    ACCOUNT_NEEDS_VERIFICATION = "account_needs_verification"
    ACCOUNT_LOGGED_OUT = "account_logged_out"
    ACCOUNT_OFFLINE = "account_offline"
    PAID = "paid"
    TEST = "test"


OPTIONAL_KINDS: Final = frozenset({NotifyKind.PAID})
"""Kinds sent only when switched on (``AICS_NOTIFY_PAID_ORDERS``): they need nobody."""


def _fact(value: object) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text[:MAX_FACT_CHARS] or None


TASK_FACTS: Final = table(
    "image_tasks",
    *(
        column(name)
        for name in (
            "task_id",
            "customer_id",
            "customer_name",
            "operation",
            "price_fen",
            "acc_id",
            "acc_type",
            "conversation_id",
        )
    ),
)
"""The columns of a task a notice names. Read through a lightweight table so notifications sit
below the task domain that emits them (the tasks' verbs call :func:`emit`)."""


SELECT_TASK_FACTS: Final = select(TASK_FACTS).where(TASK_FACTS.c.task_id == bindparam("w_task_id"))


@prepared
def _insert_event(pg: bool) -> Any:
    """``INSERT … ON CONFLICT (key) DO NOTHING``, built once per dialect."""
    dialect_insert = postgresql.insert if pg else sqlite.insert
    return dialect_insert(NotifyEvent).on_conflict_do_nothing(index_elements=["key"])


def _task_facts(session: Session, task_id: str) -> dict[str, Any]:
    row = run(session, SELECT_TASK_FACTS, {"w_task_id": task_id}).one_or_none()
    if row is None:
        return {"task_id": task_id}
    return {
        "task_id": row.task_id,
        "customer": row.customer_name or row.customer_id,
        "operation": row.operation,
        "price_fen": row.price_fen,
        "account_id": row.acc_id,
        "platform": row.acc_type,
        "conversation_id": row.conversation_id,
    }


class NoticeFacts(TypedDict, total=False):
    """What a caller may tell :func:`emit` besides the task; a value given wins over the task's."""

    conversation_id: str | None
    account_id: str | None
    account_nick: str | None
    platform: str | None
    customer: str | None
    reason: str | None


def emit(
    session: Session,
    clock: Clock,
    kind: NotifyKind,
    *,
    key: str | None = None,
    task_id: str | None = None,
    **given: Unpack[NoticeFacts],
) -> bool:
    """Record a notice in the caller's transaction; ``False`` if ``key`` was recorded before.

    ``key`` names the event when it can happen twice (a redelivered payment, a retried
    hand-off): the second emit with the same key is a no-op, so the group hears it once.
    Without a key every call is a new event. The subject is the task when there is one, else
    the conversation, else the account; the message links to that page of the console.
    """
    facts: dict[str, Any] = _task_facts(session, task_id) if task_id else {}
    facts.update((name, value) for name, value in given.items() if value is not None)
    payload = {
        name: value if isinstance(value, int) and not isinstance(value, bool) else _fact(value)
        for name, value in facts.items()
    }
    result = run(
        session,
        _insert_event(is_pg(session)),
        {
            "key": (key or f"{kind.value}:{uuid.uuid4().hex}")[:300],
            "kind": kind.value,
            "payload": json.dumps(
                {k: v for k, v in payload.items() if v is not None}, ensure_ascii=False
            ),
            "fanned_out": 0,
            "created_at": iso(clock.now()),
        },
    )
    return bool(getattr(result, "rowcount", 0))
