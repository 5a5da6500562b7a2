"""Dispatch tables (migration branch ``dispatch``).

``dispatch_jobs``, ``dispatch_callbacks`` (the outbox of finish callbacks) and
``dispatch_reminders`` belong to the dispatch service on 8005; ``dispatch_callback_events``
(callback event ids already applied) belongs to the receiver on 6060. By default both services
use the same database. Times are ISO text; deadlines and retry schedules that SQL compares are
epoch seconds (REAL).
"""

from __future__ import annotations

from sqlalchemy import Index
from sqlalchemy.orm import Mapped, mapped_column

from ai_cs.db.models import Base, Counter, IndexedText, OutboxColumns, SerialId, TextKey, Timestamps


class DispatchJob(Timestamps, Base):
    """One job for a human designer (派单): what to do, who has it, what came back."""

    __tablename__ = "dispatch_jobs"
    __table_args__ = (
        Index("ix_dispatch_jobs_status_created", "status", "created_at"),
        Index("ix_dispatch_jobs_designer", "designer", "status"),
        Index("ix_dispatch_jobs_due", "status", "due_epoch"),
    )

    job_id: Mapped[TextKey]
    idempotency_key: Mapped[str] = mapped_column(unique=True)
    request_hash: Mapped[str]
    task_id: Mapped[IndexedText]
    original_image: Mapped[str]
    operation: Mapped[str]
    customer_notes: Mapped[str | None]
    analysis: Mapped[str | None]  # JSON
    quote: Mapped[str | None]  # JSON
    reason: Mapped[str]
    acc_id: Mapped[str | None]
    acc_type: Mapped[str | None]
    customer_id: Mapped[str | None]
    status: Mapped[str]
    designer: Mapped[str | None]
    claimed_by_key: Mapped[str | None]
    claimed_at: Mapped[str | None]
    deadline_at: Mapped[str | None]
    due_epoch: Mapped[float | None]
    reminded_at: Mapped[str | None]
    reminders: Mapped[Counter]
    finished_at: Mapped[str | None]
    result_path: Mapped[str | None]  # storage key under DATA_DIR/dispatch
    result_sha256: Mapped[str | None]
    result_mime: Mapped[str | None]
    result_bytes: Mapped[int | None]
    result_name: Mapped[str | None]
    callback_status: Mapped[str | None]


class DispatchCallback(OutboxColumns, Base):
    """Outbox of finish callbacks: written with the finish, delivered until acknowledged."""

    __tablename__ = "dispatch_callbacks"
    __table_args__ = (Index("ix_dispatch_callbacks_due", "status", "next_attempt_at"),)

    id: Mapped[SerialId]
    event_id: Mapped[str] = mapped_column(unique=True)
    job_id: Mapped[IndexedText]
    body: Mapped[str]  # the exact JSON that is signed and sent


class DispatchReminder(Base):
    """A reminder recorded for a job past its deadline (催单)."""

    __tablename__ = "dispatch_reminders"

    id: Mapped[SerialId]
    job_id: Mapped[IndexedText]
    designer: Mapped[str | None]
    kind: Mapped[str]
    message: Mapped[str]
    created_at: Mapped[str]


class DispatchCallbackEvent(Base):
    """A finish callback the API applied; a replay of its ``event_id`` has no second effect."""

    __tablename__ = "dispatch_callback_events"

    event_id: Mapped[TextKey]
    job_id: Mapped[str]
    task_id: Mapped[IndexedText]
    designer: Mapped[str | None]
    result_image: Mapped[str | None]
    received_at: Mapped[str]
