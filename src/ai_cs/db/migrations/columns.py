"""Column groups and the table shape the migrations share.

Frozen: a migration must build the same schema forever, so once a migration calls a helper here,
what the helper returns never changes. A table that needs another group gets a new helper; no
helper is edited. The schema keeps times as ISO 8601 text and compared times as epoch seconds
(REAL), so most columns are :func:`texts` and :func:`reals`. A migration that only creates
tables declares each once (:func:`table`, :func:`serial_table`) and takes its ``upgrade`` and
``downgrade`` from :func:`creating`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from alembic import op


def texts(*names: str, nullable: bool = True) -> list[sa.Column[Any]]:
    """TEXT columns, in the order named."""
    return [sa.Column(name, sa.Text(), nullable=nullable) for name in names]


def reals(*names: str, nullable: bool = True) -> list[sa.Column[Any]]:
    """REAL (float) columns, in the order named: epoch seconds the database compares."""
    return [sa.Column(name, sa.Float(), nullable=nullable) for name in names]


def integers(*names: str, nullable: bool = True) -> list[sa.Column[Any]]:
    """INTEGER columns, in the order named."""
    return [sa.Column(name, sa.Integer(), nullable=nullable) for name in names]


def counter(name: str, start: int = 0) -> sa.Column[Any]:
    """A NOT NULL INTEGER that starts at ``start`` (attempts, flags kept as 0/1, counts)."""
    return sa.Column(name, sa.Integer(), server_default=sa.text(str(start)), nullable=False)


def serial_id() -> sa.Column[Any]:
    """The ``id`` surrogate key: INTEGER, autoincrement (name it in ``primary_key``)."""
    return sa.Column("id", sa.Integer(), autoincrement=True, nullable=False)


def retry_columns() -> list[sa.Column[Any]]:
    """``status``, ``attempts`` and ``next_attempt_at``: a row a relay retries until settled."""
    return [
        *texts("status", nullable=False),
        counter("attempts"),
        *reals("next_attempt_at", nullable=False),
    ]


def outbox_columns() -> list[sa.Column[Any]]:
    """The delivery state of an outbox table (``ai_cs.db.models.OutboxColumns``)."""
    return [
        *retry_columns(),
        *texts("last_error"),
        *texts("created_at", nullable=False),
        *texts("sent_at"),
    ]


def create_table(name: str, *items: sa.schema.SchemaItem, primary_key: Sequence[str]) -> None:
    """Create table ``name`` with ``items`` and the primary key ``pk_<name>`` on ``primary_key``."""
    op.create_table(name, *items, sa.PrimaryKeyConstraint(*primary_key, name=f"pk_{name}"))


@dataclass(frozen=True)
class NewTable:
    """A table a migration creates: its items, primary key and indexes (name -> columns)."""

    name: str
    items: tuple[sa.schema.SchemaItem, ...]
    primary_key: tuple[str, ...]
    indexes: tuple[tuple[str, tuple[str, ...]], ...]


def table(
    name: str,
    *items: sa.schema.SchemaItem,
    primary_key: Sequence[str],
    indexes: Mapping[str, Sequence[str]] | None = None,
) -> NewTable:
    """Declare table ``name`` for :func:`creating`; its indexes are made in the order named."""
    made = tuple((index, tuple(columns)) for index, columns in (indexes or {}).items())
    return NewTable(name, items, tuple(primary_key), made)


def serial_table(
    name: str, *items: sa.schema.SchemaItem, indexes: Mapping[str, Sequence[str]] | None = None
) -> NewTable:
    """Declare table ``name`` keyed by :func:`serial_id`, its first column, then ``items``."""
    return table(name, serial_id(), *items, primary_key=["id"], indexes=indexes)


def create(new: NewTable) -> None:
    """Create ``new`` (:func:`create_table`), then its indexes."""
    create_table(new.name, *new.items, primary_key=new.primary_key)
    for index, columns in new.indexes:
        op.create_index(index, new.name, list(columns))


def drop(new: NewTable) -> None:
    """Drop what :func:`create` made: the indexes, last first, then the table."""
    for index, _ in reversed(new.indexes):
        op.drop_index(index, table_name=new.name)
    op.drop_table(new.name)


def creating(*tables: NewTable) -> tuple[Callable[[], None], Callable[[], None]]:
    """``upgrade`` and ``downgrade`` of a migration that only creates ``tables``.

    Upgrade creates them in order; downgrade drops them last first. Alembic loads a migration
    module afresh for each command, so each table's columns are attached once.
    """

    def upgrade() -> None:
        for new in tables:
            create(new)

    def downgrade() -> None:
        for new in reversed(tables):
            drop(new)

    return upgrade, downgrade


def gateway_takeovers() -> NewTable:
    """``gateway_takeovers`` as g0001 made it (g0002 drops it, and makes it again to go back)."""
    return table(
        "gateway_takeovers",
        *texts("account_id", "conversation_id", nullable=False),
        *reals("paused_until", nullable=False),
        *texts("taken_by"),
        *texts("started_at", nullable=False),
        primary_key=["account_id", "conversation_id"],
    )
