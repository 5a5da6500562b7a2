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

from sqlalchemy import Float, Index, Integer, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ai_cs.db.models import Base

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


class MarketplaceAccount(Base):
    """A seller account on a marketplace, connected by a bridge."""

    __tablename__ = "marketplace_accounts"
    __table_args__ = (UniqueConstraint("platform", "account_id", name="uq_marketplace_account"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(Text)
    account_id: Mapped[str] = mapped_column(Text)  # the platform's user id (闲鱼: cookie unb)
    nick: Mapped[str | None] = mapped_column(Text)
    cookie_encrypted: Mapped[str] = mapped_column(Text)
    cookie_version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    device_id: Mapped[str] = mapped_column(Text)
    token_encrypted: Mapped[str | None] = mapped_column(Text)
    token_expires_epoch: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(Text)
    state_reason: Mapped[str | None] = mapped_column(Text)
    state_since: Mapped[str] = mapped_column(Text)
    paused: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_event_at: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[str] = mapped_column(Text)


class MarketplaceAccountEvent(Base):
    """A state change of an account, for staff and notifications."""

    __tablename__ = "marketplace_account_events"
    __table_args__ = (Index("ix_marketplace_account_events_account", "platform", "account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(Text)
    account_id: Mapped[str] = mapped_column(Text)
    previous_state: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(Text)
    notified_at: Mapped[str | None] = mapped_column(Text)


class BridgeSend(Base):
    """One IM message sent by a bridge for a §7 send command (one row per part)."""

    __tablename__ = "bridge_sends"
    __table_args__ = (
        UniqueConstraint("command_id", "part", name="uq_bridge_sends_part"),
        Index("ix_bridge_sends_message", "platform", "account_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    command_id: Mapped[str] = mapped_column(Text)
    part: Mapped[int] = mapped_column(Integer)
    platform: Mapped[str] = mapped_column(Text)
    account_id: Mapped[str] = mapped_column(Text)
    conversation_id: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)  # sent | rejected
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(Text)


class BridgeConsign(Base):
    """确认发货: a platform order marked shipped on a staff member's approval."""

    __tablename__ = "bridge_consigns"
    __table_args__ = (
        UniqueConstraint("platform", "account_id", "order_id", name="uq_bridge_consigns_order"),
        Index("ix_bridge_consigns_due", "platform", "account_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(Text)
    account_id: Mapped[str] = mapped_column(Text)
    order_id: Mapped[str] = mapped_column(Text)
    task_id: Mapped[str] = mapped_column(Text, index=True)
    status: Mapped[str] = mapped_column(Text)  # requested | done | failed
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    requested_by: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[str] = mapped_column(Text)
    done_at: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[str] = mapped_column(Text)
