"""Notification outbox (branch ``notify``): events and their per-channel deliveries.

Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa

from ai_cs.db.migrations import columns as col

revision = "n0001"
down_revision = "0001"
branch_labels = ("notify",)

upgrade, downgrade = col.creating(
    col.serial_table(
        "notify_events",
        *col.texts("key", "kind", "payload", nullable=False),
        col.counter("fanned_out"),
        *col.texts("created_at", nullable=False),
        sa.UniqueConstraint("key", name="uq_notify_events_key"),
        indexes={"ix_notify_events_fanout": ["fanned_out", "id"]},
    ),
    col.serial_table(
        "notify_deliveries",
        *col.integers("event_id", nullable=False),
        *col.texts("channel", nullable=False),
        *col.outbox_columns(),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["notify_events.id"],
            name="fk_notify_deliveries_event_id_notify_events",
        ),
        sa.UniqueConstraint("event_id", "channel", name="uq_notify_deliveries_event_id"),
        indexes={"ix_notify_deliveries_due": ["status", "next_attempt_at"]},
    ),
)
