"""Notification outbox (branch ``notify``): events and their per-channel deliveries.

Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ai_cs.db.migrations import columns as col

revision = "n0001"
down_revision = "0001"
branch_labels = ("notify",)


def upgrade() -> None:
    col.create_table(
        "notify_events",
        col.serial_id(),
        *col.texts("key", "kind", "payload", nullable=False),
        col.counter("fanned_out"),
        *col.texts("created_at", nullable=False),
        sa.UniqueConstraint("key", name="uq_notify_events_key"),
        primary_key=["id"],
    )
    op.create_index("ix_notify_events_fanout", "notify_events", ["fanned_out", "id"])
    col.create_table(
        "notify_deliveries",
        col.serial_id(),
        *col.integers("event_id", nullable=False),
        *col.texts("channel", nullable=False),
        *col.outbox_columns(),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["notify_events.id"],
            name="fk_notify_deliveries_event_id_notify_events",
        ),
        sa.UniqueConstraint("event_id", "channel", name="uq_notify_deliveries_event_id"),
        primary_key=["id"],
    )
    op.create_index("ix_notify_deliveries_due", "notify_deliveries", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("notify_deliveries")
    op.drop_table("notify_events")
