"""SQLAlchemy models.

``image_tasks`` and ``task_requirement_changes`` carry exactly the seed document's columns, names
and types (TEXT / INTEGER); further columns and tables serve the rules (payments, sequences, the
job queue, the outbox). Times are ISO 8601 text in the shop's time zone; money is integer fen.
Lease and schedule times that the database compares are epoch seconds (REAL) so comparisons do not
depend on time-zone spelling.
"""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Index, Integer, MetaData, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a stable constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING)


class ImageTask(Base):
    """图片任务表 (seed columns first, then ai-cs extras)."""

    __tablename__ = "image_tasks"

    task_id: Mapped[str] = mapped_column(Text, primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(Text, index=True)
    customer_name: Mapped[str | None] = mapped_column(Text)
    original_image: Mapped[str | None] = mapped_column(Text)
    operation: Mapped[str | None] = mapped_column(Text)
    requirements: Mapped[str | None] = mapped_column(Text)
    customer_notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(Text, index=True)
    created_at: Mapped[str | None] = mapped_column(Text, index=True)
    paid_at: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[str | None] = mapped_column(Text)
    result_image: Mapped[str | None] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
    retry_count: Mapped[int | None] = mapped_column(Integer, server_default=text("0"))
    acc_id: Mapped[str | None] = mapped_column(Text)
    acc_type: Mapped[str | None] = mapped_column(Text)
    # --- ai-cs extras ------------------------------------------------------------------------
    price_fen: Mapped[int | None] = mapped_column(Integer)
    quote: Mapped[str | None] = mapped_column(Text)
    risk: Mapped[str | None] = mapped_column(Text)
    conversation_id: Mapped[str | None] = mapped_column(Text)
    designer_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[str | None] = mapped_column(Text)


class TaskRequirementChange(Base):
    """需求变更表: one row per change a customer or staff member made."""

    __tablename__ = "task_requirement_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str | None] = mapped_column(Text, ForeignKey("image_tasks.task_id"), index=True)
    change_type: Mapped[str | None] = mapped_column(Text)
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str | None] = mapped_column(Text)


class Payment(Base):
    """Every payment event seen, once per payment id, with what it did."""

    __tablename__ = "payments"

    payment_id: Mapped[str] = mapped_column(Text, primary_key=True)
    task_id: Mapped[str | None] = mapped_column(Text, index=True)
    customer_id: Mapped[str | None] = mapped_column(Text)
    amount_fen: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[str] = mapped_column(Text)


class TaskIdSequence(Base):
    """Per-day counter behind ``TASK_YYYYMMDD_NNN`` ids."""

    __tablename__ = "task_id_sequences"

    day: Mapped[str] = mapped_column(Text, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Job(Base):
    """Embedded job queue: a row per job, claimed with a lease (see ``ai_cs.jobs``)."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "status", "run_after"),
        # One live job per task: a second enqueue for the same task while one is queued or
        # running is refused by the database itself.
        Index(
            "uq_jobs_live_task",
            "task_id",
            unique=True,
            sqlite_where=text("status IN ('queued', 'running')"),
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(Text)
    task_id: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text, server_default=text("'{}'"))
    status: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    max_attempts: Mapped[int] = mapped_column(Integer, server_default=text("3"))
    run_after: Mapped[float] = mapped_column(Float)
    lease_until: Mapped[float | None] = mapped_column(Float)
    locked_by: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(Text)
    finished_at: Mapped[str | None] = mapped_column(Text)


class OutboxMessage(Base):
    """Transactional outbox: messages to outside systems, written with the change behind them."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "topic", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(Text, unique=True)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[float] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[str | None] = mapped_column(Text)


class WorkerPresence(Base):
    """Processing workers alive right now: each writes ``seen_epoch`` every few seconds.

    ``aics chat`` reads it to decide whether it must run a worker itself (see
    :mod:`ai_cs.jobs.presence`).
    """

    __tablename__ = "worker_presence"

    worker_id: Mapped[str] = mapped_column(Text, primary_key=True)
    host: Mapped[str] = mapped_column(Text)
    pid: Mapped[int] = mapped_column(Integer)
    queue: Mapped[str] = mapped_column(Text)
    started_at: Mapped[str] = mapped_column(Text)
    seen_epoch: Mapped[float] = mapped_column(Float)
