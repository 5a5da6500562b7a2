"""Gateway services: the durable inbox, the send outbox and account leases.

The AI's pause in a chat (manual takeover) is not kept here: the conversation row is the one
place (``ai_cs.conversations``), read by the gateway's lanes and written by every takeover.

Functions take a session and never commit; the client (the edge) commits. Every status change
is a compare-and-set UPDATE (``... WHERE status = :expected``), and the unique ``event_id`` /
``command_id`` columns make a second copy of an event or a send a no-op in the database itself.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import Session

from ai_cs.clock import Clock, iso
from ai_cs.core.records import record
from ai_cs.db.database import dialect_insert
from ai_cs.marketplace.models import (
    FAILED,
    HELD,
    PENDING,
    PROCESSED,
    RECEIVED,
    SENT,
    GatewayAccountLease,
    GatewayInbox,
    GatewayOutbox,
)
from ai_cs.marketplace.protocol import GatewayEvent, ReceivedEvent, wire_message

SEND_RETRY_SECONDS: Final = 5.0
"""First wait for a ``sent`` before a send goes out again (doubling up to the cap)."""
SEND_RETRY_MAX_SECONDS: Final = 60.0
ALL_ACCOUNTS: Final = "*"
"""Lease key meaning "every shop account this gateway serves"."""


def _rowcount(result: object) -> int:
    """Rows an UPDATE matched (``CursorResult.rowcount``; typed loosely by SQLAlchemy)."""
    return int(getattr(result, "rowcount", 0) or 0)


def short_digest(*parts: str) -> str:
    """A stable 20-character digest of ``parts`` (deterministic command ids)."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:20]


def new_command_id() -> str:
    """A fresh, unguessable command id."""
    return f"cmd-{uuid.uuid4().hex}"


# --- outbox ---------------------------------------------------------------------------------------
def queue_send(
    session: Session,
    clock: Clock,
    *,
    account_id: str,
    conversation_id: str,
    to: str,
    message: dict[str, Any],
    command_id: str | None = None,
    held: bool = False,
) -> str | None:
    """Put a message to a customer into the send outbox (same transaction as the caller's change).

    ``message`` is ``{"kind": "text"|"image", "text", "attachments": [{url, width, height}]}``
    (missing keys are filled in). A given ``command_id`` that is already queued is not queued again,
    which makes replies to a re-processed event idempotent. ``held`` records the message without
    ever sending it (a conversation no channel carries). Returns the command id, or ``None``
    when that command was queued before. Messages to customers go through
    :func:`ai_cs.conversations.service.send_to_customer`, which also records them in the
    conversation's transcript.
    """
    body = wire_message(
        str(message.get("text", "")),
        str(message.get("kind", "text")),
        list(message.get("attachments") or []),
    )
    cid = command_id or new_command_id()
    queued = session.execute(
        dialect_insert(session, GatewayOutbox)
        .values(
            command_id=cid,
            account_id=account_id,
            conversation_id=conversation_id,
            to=to,
            message=json.dumps(body, ensure_ascii=False),
            status=HELD if held else PENDING,
            attempts=0,
            next_attempt_at=clock.epoch(),
            created_at=iso(clock.now()),
        )
        .on_conflict_do_nothing(index_elements=["command_id"])
        .returning(GatewayOutbox.command_id)
    ).scalar_one_or_none()
    return None if queued is None else cid


@dataclass(frozen=True)
class PendingSend:
    """A send command due to go out."""

    command_id: str
    account_id: str
    conversation_id: str
    to: str
    message: dict[str, Any]
    attempts: int


def retry_delay(attempts: int) -> float:
    """How long to wait for ``sent`` after the ``attempts``-th try before trying again."""
    return float(min(SEND_RETRY_MAX_SECONDS, SEND_RETRY_SECONDS * 2 ** max(0, attempts - 1)))


def _account_filter(column: Any, accounts: frozenset[str] | None) -> Any:
    if accounts is None or ALL_ACCOUNTS in accounts:
        return True
    return column.in_(sorted(accounts))


def claim_due_sends(
    session: Session, now: float, *, accounts: frozenset[str] | None = None, limit: int = 200
) -> list[PendingSend]:
    """Pending sends that are due, each rescheduled for its next retry in the same transaction."""
    rows = list(
        session.execute(
            select(GatewayOutbox)
            .where(
                GatewayOutbox.status == PENDING,
                GatewayOutbox.next_attempt_at <= now,
                _account_filter(GatewayOutbox.account_id, accounts),
            )
            .order_by(GatewayOutbox.id)
            .limit(limit)
        ).scalars()
    )
    claimed: list[PendingSend] = []
    for row in rows:
        attempts = row.attempts + 1
        done = session.execute(
            update(GatewayOutbox)
            .where(GatewayOutbox.id == row.id, GatewayOutbox.status == PENDING)
            .values(attempts=attempts, next_attempt_at=now + retry_delay(attempts))
            .execution_options(synchronize_session=False)
        )
        if _rowcount(done):
            claimed.append(
                record(PendingSend, row, message=json.loads(row.message), attempts=attempts)
            )
    return claimed


def mark_sent(session: Session, clock: Clock, command_ids: Iterable[str]) -> int:
    """The gateway confirmed these sends: ``pending → sent`` (a repeat changes nothing)."""
    ids = sorted(set(command_ids))
    if not ids:
        return 0
    result = session.execute(
        update(GatewayOutbox)
        .where(GatewayOutbox.command_id.in_(ids), GatewayOutbox.status == PENDING)
        .values(status=SENT, sent_at=iso(clock.now()))
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


def resend_pending_now(
    session: Session, now: float, *, accounts: frozenset[str] | None = None
) -> int:
    """After a reconnect every unanswered send is due at once (same command ids)."""
    result = session.execute(
        update(GatewayOutbox)
        .where(
            GatewayOutbox.status == PENDING,
            GatewayOutbox.next_attempt_at > now,
            _account_filter(GatewayOutbox.account_id, accounts),
        )
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


def sent_recently(
    session: Session, account_id: str, conversation_id: str, text: str, *, last: int = 20
) -> bool:
    """Whether one of our last ``last`` sends to the conversation had exactly this text.

    Some platforms echo the shop's own messages back as seller messages; those must not look
    like a human taking over.
    """
    rows = session.execute(
        select(GatewayOutbox.message)
        .where(
            GatewayOutbox.account_id == account_id,
            GatewayOutbox.conversation_id == conversation_id,
        )
        .order_by(GatewayOutbox.id.desc())
        .limit(last)
    ).scalars()
    wanted = text.strip()
    return any(str(json.loads(m).get("text", "")).strip() == wanted for m in rows)


# --- inbox ----------------------------------------------------------------------------------------
def store_events(session: Session, clock: Clock, events: Sequence[ReceivedEvent]) -> list[str]:
    """Store events once per ``event_id``; returns the ids stored now (the rest were known).

    A malformed event (it has an id but no valid body) is stored as ``failed`` with the reason,
    so it is acked and visible to staff instead of being redelivered forever.
    """
    now_epoch = clock.epoch()
    now = iso(clock.now())
    stored: list[str] = []
    for item in events:
        raw = item.raw
        ev = item.event
        sender_raw = raw.get("sender")
        sender: dict[str, Any] = sender_raw if isinstance(sender_raw, dict) else {}
        values = {
            "event_id": item.event_id,
            "kind": ev.kind if ev else str(raw.get("kind", "invalid"))[:40],
            "platform": ev.platform if ev else None,
            "account_id": ev.account_id if ev else str(raw.get("account_id", ""))[:200],
            "conversation_id": ev.conversation_id
            if ev
            else str(raw.get("conversation_id", ""))[:200],
            "sender_id": ev.sender.id if ev else str(sender.get("id", ""))[:200] or None,
            "sender_role": ev.sender.role if ev else None,
            "raw": json.dumps(raw, ensure_ascii=False),
            "status": RECEIVED if ev else FAILED,
            "attempts": 0,
            "next_attempt_at": now_epoch,
            "received_epoch": now_epoch,
            "outcome": None if ev else f"invalid_event: {item.error}"[:2000],
            "occurred_at": ev.occurred_at if ev else None,
            "received_at": now,
            "processed_at": None if ev else now,
        }
        new = session.execute(
            dialect_insert(session, GatewayInbox)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(GatewayInbox.event_id)
        ).scalar_one_or_none()
        if new is not None:
            stored.append(new)
    return stored


@dataclass(frozen=True)
class InboxEvent:
    """A stored event waiting in a conversation's lane."""

    id: int
    event_id: str
    kind: str
    account_id: str
    conversation_id: str
    sender_id: str | None
    sender_role: str | None
    attempts: int
    next_attempt_at: float
    received_epoch: float
    event: GatewayEvent

    @property
    def is_buyer_message(self) -> bool:
        """A customer's chat message (the kind that bursts merge)."""
        return self.kind == "message" and self.sender_role == "buyer"


def _to_inbox_event(row: GatewayInbox) -> InboxEvent:
    return record(InboxEvent, row, event=GatewayEvent.model_validate_json(row.raw))


def lanes_due(
    session: Session, now: float, *, accounts: frozenset[str] | None = None
) -> list[tuple[str, str]]:
    """``(account_id, conversation_id)`` of conversations with an event due for processing."""
    rows = session.execute(
        select(GatewayInbox.account_id, GatewayInbox.conversation_id)
        .where(
            GatewayInbox.status == RECEIVED,
            GatewayInbox.next_attempt_at <= now,
            _account_filter(GatewayInbox.account_id, accounts),
        )
        .group_by(GatewayInbox.account_id, GatewayInbox.conversation_id)
        .order_by(func.min(GatewayInbox.id))
    ).all()
    return [(str(a), str(c)) for a, c in rows]


def lane_events(
    session: Session, account_id: str, conversation_id: str, *, limit: int = 50
) -> list[InboxEvent]:
    """The conversation's unprocessed events in the order they arrived."""
    rows = session.execute(
        select(GatewayInbox)
        .where(
            GatewayInbox.status == RECEIVED,
            GatewayInbox.account_id == account_id,
            GatewayInbox.conversation_id == conversation_id,
        )
        .order_by(GatewayInbox.id)
        .limit(limit)
    ).scalars()
    return [_to_inbox_event(r) for r in rows]


def begin_attempt(session: Session, event_ids: Sequence[str]) -> None:
    """Count an attempt before it runs, so a poison event is given up even across crashes."""
    session.execute(
        update(GatewayInbox)
        .where(GatewayInbox.event_id.in_(list(event_ids)), GatewayInbox.status == RECEIVED)
        .values(attempts=GatewayInbox.attempts + 1)
        .execution_options(synchronize_session=False)
    )


def finish_events(
    session: Session,
    clock: Clock,
    event_ids: Sequence[str],
    *,
    outcome: str,
    status: str = PROCESSED,
    turn_id: str | None = None,
    error: str | None = None,
) -> int:
    """``received → processed|failed`` for these events; returns how many this call moved."""
    result = session.execute(
        update(GatewayInbox)
        .where(GatewayInbox.event_id.in_(list(event_ids)), GatewayInbox.status == RECEIVED)
        .values(
            status=status,
            outcome=outcome[:2000],
            turn_id=turn_id,
            processed_at=iso(clock.now()),
            last_error=error[:2000] if error else None,
        )
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


def defer_events(
    session: Session,
    event_ids: Sequence[str],
    until: float,
    *,
    error: str | None = None,
    refund_attempt: bool = False,
) -> None:
    """Try these events again at ``until`` (a failed attempt, or a payment waiting for its task).

    ``refund_attempt`` gives back the attempt counted by :func:`begin_attempt` — waiting is not
    failing.
    """
    values: dict[str, Any] = {"next_attempt_at": until}
    if error is not None:
        values["last_error"] = error[:2000]
    if refund_attempt:
        values["attempts"] = case((GatewayInbox.attempts > 0, GatewayInbox.attempts - 1), else_=0)
    session.execute(
        update(GatewayInbox)
        .where(GatewayInbox.event_id.in_(list(event_ids)), GatewayInbox.status == RECEIVED)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def inbox_counts(session: Session) -> dict[str, int]:
    """Stored events by status (metrics, tests)."""
    rows = session.execute(
        select(GatewayInbox.status, func.count()).group_by(GatewayInbox.status)
    ).all()
    return {str(status): int(n) for status, n in rows}


# --- account leases -------------------------------------------------------------------------------
def acquire_lease(session: Session, clock: Clock, account_id: str, holder: str, ttl: float) -> bool:
    """Take or renew the lease on ``account_id``; False while another live holder has it."""
    now = clock.epoch()
    stmt = dialect_insert(session, GatewayAccountLease).values(
        account_id=account_id, holder=holder, lease_until=now + ttl, acquired_at=iso(clock.now())
    )
    table = GatewayAccountLease
    stmt = stmt.on_conflict_do_update(
        index_elements=["account_id"],
        set_={
            "holder": holder,
            "lease_until": now + ttl,
            "acquired_at": case(
                (table.holder == holder, table.acquired_at), else_=stmt.excluded.acquired_at
            ),
        },
        where=or_(table.lease_until < now, table.holder == holder),
    ).returning(GatewayAccountLease.holder)
    return session.execute(stmt).scalar_one_or_none() == holder


def release_lease(session: Session, account_id: str, holder: str) -> None:
    """Give the lease up at once (a clean stop), so the next client need not wait for expiry."""
    session.execute(
        update(GatewayAccountLease)
        .where(GatewayAccountLease.account_id == account_id, GatewayAccountLease.holder == holder)
        .values(lease_until=0.0)
        .execution_options(synchronize_session=False)
    )


def lease_of(session: Session, account_id: str) -> tuple[str, float] | None:
    """``(holder, lease_until)`` of an account, if anyone ever held it."""
    row = session.get(GatewayAccountLease, account_id)
    return None if row is None else (row.holder, row.lease_until)
