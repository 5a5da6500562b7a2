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

from sqlalchemy import Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ai_cs.db.models import Base, Counter, RetryColumns, SerialId, TextKey

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


class GatewayChatColumns:
    """The chat a gateway event or command belongs to: the shop account and the chat's id."""

    account_id: Mapped[str]
    conversation_id: Mapped[str]


class GatewayInbox(GatewayChatColumns, RetryColumns, Base):
    """One gateway event, stored durably before its ack (exactly-once processing).

    ``status``: received, processed or failed.
    """

    __tablename__ = "gateway_inbox"
    __table_args__ = (
        Index("ix_gateway_inbox_lane", "status", "account_id", "conversation_id", "id"),
    )

    id: Mapped[SerialId]
    event_id: Mapped[str] = mapped_column(unique=True)
    kind: Mapped[str]
    platform: Mapped[str | None]
    sender_id: Mapped[str | None]
    sender_role: Mapped[str | None]
    raw: Mapped[str]  # the event object as JSON
    received_epoch: Mapped[float]  # burst window reference
    turn_id: Mapped[str | None]  # first event id of the merged turn
    outcome: Mapped[str | None]  # what processing did, for staff
    last_error: Mapped[str | None]
    occurred_at: Mapped[str | None]
    received_at: Mapped[str]
    processed_at: Mapped[str | None]


class GatewayOutbox(GatewayChatColumns, RetryColumns, Base):
    """One ``send`` command to the gateway, pending until ``sent`` comes back.

    ``status``: pending, sent or held.
    """

    __tablename__ = "gateway_outbox"
    __table_args__ = (Index("ix_gateway_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[SerialId]
    command_id: Mapped[str] = mapped_column(unique=True)
    to: Mapped[str]  # the customer's platform id
    message: Mapped[str]  # {"kind", "text", "attachments"} as JSON
    created_at: Mapped[str]
    sent_at: Mapped[str | None]


class GatewayAccountLease(Base):
    """Which client holds a shop account (``*`` = every account of one gateway)."""

    __tablename__ = "gateway_account_leases"

    account_id: Mapped[TextKey]
    holder: Mapped[str]
    lease_until: Mapped[float]
    acquired_at: Mapped[str]


class ResultDelivery(Base):
    """A result link sent to the customer: once per task and result file."""

    __tablename__ = "result_deliveries"
    __table_args__ = (
        UniqueConstraint("task_id", "result_image", name="uq_result_deliveries_task"),
    )

    id: Mapped[SerialId]
    token_hash: Mapped[str] = mapped_column(unique=True)  # sha256 of the link token
    task_id: Mapped[str]
    result_image: Mapped[str]  # storage key the link serves
    customer_id: Mapped[str | None]
    account_id: Mapped[str | None]
    conversation_id: Mapped[str | None]
    has_preview: Mapped[Counter]
    created_at: Mapped[str]
    expires_at: Mapped[str]
    expires_epoch: Mapped[float]
