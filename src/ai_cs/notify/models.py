"""The notification outbox: one row per event, one row per event and channel once relayed.

``notify_events`` is written by :func:`ai_cs.notify.events.emit` in the transaction of the
change that causes it (a hand-off, a review, an account going offline), so an event exists
exactly when its cause committed. ``notify_deliveries`` is written by the relay: one row per
event and configured channel (unique together), carrying that channel's attempts, backoff and
outcome, so a DingTalk robot that is down delays only the DingTalk copy.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ai_cs.db.models import Base, Counter, OutboxColumns, SerialId


class NotifyEvent(Base):
    """通知事件: something that needs a person (or, when enabled, a paid order)."""

    __tablename__ = "notify_events"
    __table_args__ = (Index("ix_notify_events_fanout", "fanned_out", "id"),)

    id: Mapped[SerialId]
    key: Mapped[str] = mapped_column(unique=True)
    """Names the event once: the same hand-off or payment seen twice is one notice."""
    kind: Mapped[str]
    payload: Mapped[str]
    """JSON: the subject (task / conversation / account) and the facts the message shows."""
    fanned_out: Mapped[Counter]
    created_at: Mapped[str]


class NotifyDelivery(OutboxColumns, Base):
    """One event on one channel (钉钉 / 飞书 / 企业微信 / webhook) and how its sending went."""

    __tablename__ = "notify_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "channel"),
        Index("ix_notify_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[SerialId]
    event_id: Mapped[int] = mapped_column(ForeignKey("notify_events.id"))
    channel: Mapped[str]
