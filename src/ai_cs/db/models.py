"""The declarative base and the infrastructure tables (job queue, outbox, worker presence).

Each domain keeps its own tables in its ``models`` module on this base (tasks in
:mod:`ai_cs.tasks.models`, conversations, dispatch, …); Alembic migrations create them all. Times
are ISO 8601 text in the shop's time zone; lease and schedule times that the database compares
are epoch seconds (REAL) so comparisons do not depend on time-zone spelling.
"""

from __future__ import annotations

from typing import Annotated

from sqlalchemy import Float, Index, Integer, MetaData, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


SerialId = Annotated[int, mapped_column(primary_key=True, autoincrement=True)]
"""An INTEGER surrogate key the database numbers."""

TextKey = Annotated[str, mapped_column(primary_key=True)]
"""A TEXT key the application names (a task id, a conversation id, a hash)."""

IndexedText = Annotated[str, mapped_column(index=True)]
"""A TEXT column rows are looked up by: indexed as ``ix_<table>_<column>``."""

Counter = Annotated[int, mapped_column(server_default=text("0"))]
"""A NOT NULL INTEGER that starts at 0 (attempts, counts, flags kept as 0/1)."""


class Base(DeclarativeBase):
    """Declarative base with a stable constraint naming convention.

    Python types map to the schema's three column types, so a plain ``Mapped[str]`` is TEXT
    NOT NULL and ``Mapped[float | None]`` a nullable REAL.
    """

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {str: Text(), int: Integer(), float: Float()}


class RetryColumns:
    """A row a relay retries until it settles: its status, the tries so far and the next one.

    A mixin, like the ones below: tables that share a group of columns keep one spelling of it
    (the migrations create them, with the groups of :mod:`ai_cs.db.migrations.columns`).
    """

    status: Mapped[str]
    attempts: Mapped[Counter]
    next_attempt_at: Mapped[float]


class OutboxColumns(RetryColumns):
    """The delivery state of every outbox table, claimed and settled by :mod:`ai_cs.db.passes`.

    The dispatch outbox, the notification deliveries and the dispatch callbacks carry it.
    """

    last_error: Mapped[str | None]
    created_at: Mapped[str]
    sent_at: Mapped[str | None]


class ShopAccountColumns:
    """The shop account a row belongs to.

    ``platform`` is the seed's ``acc_type`` (e.g. "xianyu"), ``account_id`` the account's id on
    it, the seed's ``acc_id`` (闲鱼: the seller's user id, cookie ``unb``).
    """

    platform: Mapped[str]
    account_id: Mapped[str]


class Timestamps:
    """When the row was written first and last (ISO 8601 text)."""

    created_at: Mapped[str]
    updated_at: Mapped[str]


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

    id: Mapped[SerialId]
    kind: Mapped[str]
    task_id: Mapped[str | None]
    payload: Mapped[str] = mapped_column(server_default=text("'{}'"))
    status: Mapped[str]
    attempts: Mapped[Counter]
    max_attempts: Mapped[int] = mapped_column(server_default=text("3"))
    run_after: Mapped[float]
    lease_until: Mapped[float | None]
    locked_by: Mapped[str | None]
    last_error: Mapped[str | None]
    created_at: Mapped[str]
    finished_at: Mapped[str | None]


class OutboxMessage(OutboxColumns, Base):
    """Transactional outbox: messages to outside systems, written with the change behind them."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "topic", "status", "next_attempt_at"),)

    id: Mapped[SerialId]
    topic: Mapped[str]
    key: Mapped[str] = mapped_column(unique=True)
    payload: Mapped[str]


class WorkerPresence(Base):
    """Processing workers alive right now: each writes ``seen_epoch`` every few seconds.

    ``aics chat`` reads it to decide whether it must run a worker itself (see
    :mod:`ai_cs.jobs.presence`).
    """

    __tablename__ = "worker_presence"

    worker_id: Mapped[TextKey]
    host: Mapped[str]
    pid: Mapped[int]
    queue: Mapped[str]
    started_at: Mapped[str]
    seen_epoch: Mapped[float]
