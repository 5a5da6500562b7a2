"""Tables of the marketplace gateway (migration branch ``gateway``).

* ``gateway_inbox`` — every event the gateway delivered, once per ``event_id`` (UNIQUE): stored
  and committed before it is acked, processed later by the per-conversation lanes.
* ``gateway_outbox`` — every ``send`` command, once per ``command_id`` (UNIQUE): pending until
  the gateway answers ``sent``, retried with the same id meanwhile.
* ``gateway_account_leases`` — which client process holds a shop account, so two clients never
  run for the same account.
* ``result_deliveries`` — result links sent to customers (token stored hashed), once per task
  and result.

Times are ISO 8601 text; the few times SQL compares (schedules, leases, link expiry) are epoch
seconds (REAL).
"""

from __future__ import annotations

from sqlalchemy import Float, Index, Integer, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ai_cs.db.models import Base

# Inbox statuses.
RECEIVED = "received"
PROCESSED = "processed"
FAILED = "failed"

# Outbox statuses.
PENDING = "pending"
SENT = "sent"
# Recorded for a conversation no channel carries (assist mode: staff copy the text by hand).
# Never handed to a sender; the row keeps the command id so a repeat records nothing again.
HELD = "held"


class GatewayInbox(Base):
    """One gateway event, stored durably before its ack (exactly-once processing)."""

    __tablename__ = "gateway_inbox"
    __table_args__ = (
        Index("ix_gateway_inbox_lane", "status", "account_id", "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(Text)
    platform: Mapped[str | None] = mapped_column(Text)
    account_id: Mapped[str] = mapped_column(Text)
    conversation_id: Mapped[str] = mapped_column(Text)
    sender_id: Mapped[str | None] = mapped_column(Text)
    sender_role: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)  # the event object as JSON
    status: Mapped[str] = mapped_column(Text)  # received | processed | failed
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[float] = mapped_column(Float)
    received_epoch: Mapped[float] = mapped_column(Float)  # burst window reference
    turn_id: Mapped[str | None] = mapped_column(Text)  # first event id of the merged turn
    outcome: Mapped[str | None] = mapped_column(Text)  # what processing did, for staff
    last_error: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[str] = mapped_column(Text)
    processed_at: Mapped[str | None] = mapped_column(Text)


class GatewayOutbox(Base):
    """One ``send`` command to the gateway, pending until ``sent`` comes back."""

    __tablename__ = "gateway_outbox"
    __table_args__ = (Index("ix_gateway_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    command_id: Mapped[str] = mapped_column(Text, unique=True)
    account_id: Mapped[str] = mapped_column(Text)
    conversation_id: Mapped[str] = mapped_column(Text)
    to: Mapped[str] = mapped_column(Text)  # the customer's platform id
    message: Mapped[str] = mapped_column(Text)  # {"kind", "text", "attachments"} as JSON
    status: Mapped[str] = mapped_column(Text)  # pending | sent | held
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[float] = mapped_column(Float)
    created_at: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[str | None] = mapped_column(Text)


class GatewayAccountLease(Base):
    """Which client holds a shop account (``*`` = every account of one gateway)."""

    __tablename__ = "gateway_account_leases"

    account_id: Mapped[str] = mapped_column(Text, primary_key=True)
    holder: Mapped[str] = mapped_column(Text)
    lease_until: Mapped[float] = mapped_column(Float)
    acquired_at: Mapped[str] = mapped_column(Text)


class ResultDelivery(Base):
    """A result link sent to the customer: once per task and result file."""

    __tablename__ = "result_deliveries"
    __table_args__ = (
        UniqueConstraint("task_id", "result_image", name="uq_result_deliveries_task"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(Text, unique=True)  # sha256 of the link token
    task_id: Mapped[str] = mapped_column(Text)
    result_image: Mapped[str] = mapped_column(Text)  # storage key the link serves
    customer_id: Mapped[str | None] = mapped_column(Text)
    account_id: Mapped[str | None] = mapped_column(Text)
    conversation_id: Mapped[str | None] = mapped_column(Text)
    has_preview: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    created_at: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[str] = mapped_column(Text)
    expires_epoch: Mapped[float] = mapped_column(Float)
