"""Notification outbox (branch ``notify``): events and their per-channel deliveries.

Revision ID: n0001
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ai_cs.db.migrations.columns import (
    counter,
    create_table,
    integers,
    outbox_columns,
    serial_id,
    texts,
)

revision = "n0001"
down_revision = "0001"
branch_labels = ("notify",)
depends_on = None


def upgrade() -> None:
    create_table(
        "notify_events",
        serial_id(),
        *texts("key", "kind", "payload", nullable=False),
        counter("fanned_out"),
        *texts("created_at", nullable=False),
        sa.UniqueConstraint("key", name="uq_notify_events_key"),
        primary_key=["id"],
    )
    op.create_index("ix_notify_events_fanout", "notify_events", ["fanned_out", "id"])
    create_table(
        "notify_deliveries",
        serial_id(),
        *integers("event_id", nullable=False),
        *texts("channel", nullable=False),
        *outbox_columns(),
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
