"""Marketplace bridges: 确认发货 (consign.dummy) of platform orders, one row per order.

Branch ``bridges``.

Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa

from ai_cs.db.migrations import columns as col

revision = "b0002"
down_revision = "b0001"

upgrade, downgrade = col.creating(
    col.serial_table(
        "bridge_consigns",
        *col.texts("platform", "account_id", "order_id", "task_id", "status", nullable=False),
        *col.texts("reason"),
        col.counter("attempts"),
        *col.texts("requested_by", "requested_at", nullable=False),
        *col.texts("done_at"),
        *col.texts("updated_at", nullable=False),
        sa.UniqueConstraint("platform", "account_id", "order_id", name="uq_bridge_consigns_order"),
        indexes={
            "ix_bridge_consigns_task_id": ["task_id"],
            "ix_bridge_consigns_due": ["platform", "account_id", "status"],
        },
    ),
)
