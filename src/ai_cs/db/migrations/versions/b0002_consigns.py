"""Marketplace bridges: 确认发货 (consign.dummy) of platform orders, one row per order.

Branch ``bridges``.

Revision ID: b0002
Revises: b0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ai_cs.db.migrations.columns import counter, create_table, serial_id, texts

revision = "b0002"
down_revision = "b0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_table(
        "bridge_consigns",
        serial_id(),
        *texts("platform", "account_id", "order_id", "task_id", "status", nullable=False),
        *texts("reason"),
        counter("attempts"),
        *texts("requested_by", "requested_at", nullable=False),
        *texts("done_at"),
        *texts("updated_at", nullable=False),
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
