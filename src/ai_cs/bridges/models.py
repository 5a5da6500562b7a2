"""Tables of the marketplace bridges (migration branch ``bridges``).

* ``marketplace_accounts`` — one real seller account per row (platform + the platform's user
  id): the cookie and the cached IM token encrypted at rest, the device id bound to the token for
  good, the connection state with its reason, the last event and the last error.
* ``marketplace_account_events`` — every state change of an account (online, reconnecting,
  needs_verification, logged_out, paused …), kept for staff and for notifications (§11):
  ``notified_at`` is empty until a notifier has told the shop.
* ``bridge_sends`` — every IM message a bridge sent for a §7 ``send`` command (one row per part:
  pictures first, then the text), with the platform's message id. A command resent after a
  restart skips the parts already sent, and the echo of our own message is recognised by its id.
* ``bridge_consigns`` — a staff member's 确认发货 of a platform order (闲鱼 ``consign.dummy``:
  shipped without logistics), one row per order: requested, then done or failed with the
  platform's reason. The account's running session carries it out.
"""

from __future__ import annotations

from sqlalchemy import Index, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ai_cs.db.models import Base, Counter, IndexedText, SerialId, ShopAccountColumns, Timestamps

# Account states (CONTRACT §10).
NEW = "new"
ONLINE = "online"
RECONNECTING = "reconnecting"
NEEDS_VERIFICATION = "needs_verification"
LOGGED_OUT = "logged_out"
PAUSED = "paused"
STATES = (NEW, ONLINE, RECONNECTING, NEEDS_VERIFICATION, LOGGED_OUT, PAUSED)

# Send part statuses.
SENT = "sent"
REJECTED = "rejected"

# Consign statuses.
REQUESTED = "requested"
DONE = "done"
FAILED = "failed"


class MarketplaceAccount(ShopAccountColumns, Timestamps, Base):
    """A seller account on a marketplace, connected by a bridge."""

    __tablename__ = "marketplace_accounts"
    __table_args__ = (UniqueConstraint("platform", "account_id", name="uq_marketplace_account"),)

    id: Mapped[SerialId]
    nick: Mapped[str | None]
    cookie_encrypted: Mapped[str]
    cookie_version: Mapped[int] = mapped_column(server_default=text("1"))
    device_id: Mapped[str]
    token_encrypted: Mapped[str | None]
    token_expires_epoch: Mapped[float | None]
    state: Mapped[str]
    state_reason: Mapped[str | None]
    state_since: Mapped[str]
    paused: Mapped[Counter]
    last_event_at: Mapped[str | None]
    last_error: Mapped[str | None]
    last_error_at: Mapped[str | None]


class MarketplaceAccountEvent(ShopAccountColumns, Base):
    """A state change of an account, for staff and notifications."""

    __tablename__ = "marketplace_account_events"
    __table_args__ = (Index("ix_marketplace_account_events_account", "platform", "account_id"),)

    id: Mapped[SerialId]
    previous_state: Mapped[str | None]
    state: Mapped[str]
    reason: Mapped[str | None]
    created_at: Mapped[str]
    notified_at: Mapped[str | None]


class BridgeSend(ShopAccountColumns, Base):
    """One IM message sent by a bridge for a §7 send command (one row per part)."""

    __tablename__ = "bridge_sends"
    __table_args__ = (
        UniqueConstraint("command_id", "part", name="uq_bridge_sends_part"),
        Index("ix_bridge_sends_message", "platform", "account_id", "message_id"),
    )

    id: Mapped[SerialId]
    command_id: Mapped[str]
    part: Mapped[int]
    conversation_id: Mapped[str]
    message_id: Mapped[str | None]
    status: Mapped[str]  # sent | rejected
    reason: Mapped[str | None]
    created_at: Mapped[str]


class BridgeConsign(ShopAccountColumns, Base):
    """确认发货: a platform order marked shipped on a staff member's approval."""

    __tablename__ = "bridge_consigns"
    __table_args__ = (
        UniqueConstraint("platform", "account_id", "order_id", name="uq_bridge_consigns_order"),
        Index("ix_bridge_consigns_due", "platform", "account_id", "status"),
    )

    id: Mapped[SerialId]
    order_id: Mapped[str]
    task_id: Mapped[IndexedText]
    status: Mapped[str]  # requested | done | failed
    reason: Mapped[str | None]
    attempts: Mapped[Counter]
    requested_by: Mapped[str]
    requested_at: Mapped[str]
    done_at: Mapped[str | None]
    updated_at: Mapped[str]
