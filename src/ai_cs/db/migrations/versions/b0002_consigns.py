"""Marketplace bridges: 确认发货 (consign.dummy) of platform orders, one row per order.

Branch ``bridges``.

Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ai_cs.db.migrations import columns as col

revision = "b0002"
down_revision = "b0001"


def upgrade() -> None:
    col.create_table(
        "bridge_consigns",
        col.serial_id(),
        *col.texts("platform", "account_id", "order_id", "task_id", "status", nullable=False),
        *col.texts("reason"),
        col.counter("attempts"),
        *col.texts("requested_by", "requested_at", nullable=False),
        *col.texts("done_at"),
        *col.texts("updated_at", nullable=False),
        sa.UniqueConstraint("platform", "account_id", "order_id", name="uq_bridge_consigns_order"),
        primary_key=["id"],
    )
    op.create_index("ix_bridge_consigns_task_id", "bridge_consigns", ["task_id"])
    op.create_index(
        "ix_bridge_consigns_due", "bridge_consigns", ["platform", "account_id", "status"]
    )


def downgrade() -> None:
    op.drop_index("ix_bridge_consigns_due", table_name="bridge_consigns")
    op.drop_index("ix_bridge_consigns_task_id", table_name="bridge_consigns")
    op.drop_table("bridge_consigns")
