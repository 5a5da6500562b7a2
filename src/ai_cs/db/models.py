"""The declarative base and the infrastructure tables (job queue, outbox, worker presence).

Each domain keeps its own tables in its ``models`` module on this base (tasks in
:mod:`ai_cs.tasks.models`, conversations, dispatch, …); Alembic migrations create them all. Times
are ISO 8601 text in the shop's time zone; lease and schedule times that the database compares
are epoch seconds (REAL) so comparisons do not depend on time-zone spelling.
"""

from __future__ import annotations

from sqlalchemy import Float, Index, Integer, MetaData, Text, text
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


class OutboxColumns:
    """The delivery state of every outbox table, claimed and settled by :mod:`ai_cs.db.passes`.

    A mixin, so the dispatch outbox, the notification deliveries and the dispatch callbacks
    keep one spelling of the columns their relays rely on (the migrations create them).
    """

    status: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[float] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[str | None] = mapped_column(Text)


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


class OutboxMessage(OutboxColumns, Base):
    """Transactional outbox: messages to outside systems, written with the change behind them."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "topic", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(Text, unique=True)
    payload: Mapped[str] = mapped_column(Text)


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
