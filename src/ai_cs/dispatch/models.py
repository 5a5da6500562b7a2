"""Dispatch tables (migration branch ``dispatch``).

``dispatch_jobs``, ``dispatch_callbacks`` (the outbox of finish callbacks) and
``dispatch_reminders`` belong to the dispatch service on 8005; ``dispatch_callback_events``
(callback event ids already applied) belongs to the receiver on 6060. By default both services
use the same database. Times are ISO text; deadlines and retry schedules that SQL compares are
epoch seconds (REAL).
"""

from __future__ import annotations

from sqlalchemy import Float, Index, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ai_cs.db.models import Base, OutboxColumns


class DispatchJob(Base):
    """One job for a human designer (派单): what to do, who has it, what came back."""

    __tablename__ = "dispatch_jobs"
    __table_args__ = (
        Index("ix_dispatch_jobs_status_created", "status", "created_at"),
        Index("ix_dispatch_jobs_designer", "designer", "status"),
        Index("ix_dispatch_jobs_due", "status", "due_epoch"),
    )

    job_id: Mapped[str] = mapped_column(Text, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(Text, unique=True)
    request_hash: Mapped[str] = mapped_column(Text)
    task_id: Mapped[str] = mapped_column(Text, index=True)
    original_image: Mapped[str] = mapped_column(Text)
    operation: Mapped[str] = mapped_column(Text)
    customer_notes: Mapped[str | None] = mapped_column(Text)
    analysis: Mapped[str | None] = mapped_column(Text)  # JSON
    quote: Mapped[str | None] = mapped_column(Text)  # JSON
    reason: Mapped[str] = mapped_column(Text)
    acc_id: Mapped[str | None] = mapped_column(Text)
    acc_type: Mapped[str | None] = mapped_column(Text)
    customer_id: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    designer: Mapped[str | None] = mapped_column(Text)
    claimed_by_key: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[str | None] = mapped_column(Text)
    deadline_at: Mapped[str | None] = mapped_column(Text)
    due_epoch: Mapped[float | None] = mapped_column(Float)
    reminded_at: Mapped[str | None] = mapped_column(Text)
    reminders: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    finished_at: Mapped[str | None] = mapped_column(Text)
    result_path: Mapped[str | None] = mapped_column(Text)  # storage key under DATA_DIR/dispatch
    result_sha256: Mapped[str | None] = mapped_column(Text)
    result_mime: Mapped[str | None] = mapped_column(Text)
    result_bytes: Mapped[int | None] = mapped_column(Integer)
    result_name: Mapped[str | None] = mapped_column(Text)
    callback_status: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[str] = mapped_column(Text)


class DispatchCallback(OutboxColumns, Base):
    """Outbox of finish callbacks: written with the finish, delivered until acknowledged."""

    __tablename__ = "dispatch_callbacks"
    __table_args__ = (Index("ix_dispatch_callbacks_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(Text, unique=True)
    job_id: Mapped[str] = mapped_column(Text, index=True)
    body: Mapped[str] = mapped_column(Text)  # the exact JSON that is signed and sent


class DispatchReminder(Base):
    """A reminder recorded for a job past its deadline (催单)."""

    __tablename__ = "dispatch_reminders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(Text, index=True)
    designer: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(Text)


class DispatchCallbackEvent(Base):
    """A finish callback the API applied; a replay of its ``event_id`` has no second effect."""

    __tablename__ = "dispatch_callback_events"

    event_id: Mapped[str] = mapped_column(Text, primary_key=True)
    job_id: Mapped[str] = mapped_column(Text)
    task_id: Mapped[str] = mapped_column(Text, index=True)
    designer: Mapped[str | None] = mapped_column(Text)
    result_image: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[str] = mapped_column(Text)
