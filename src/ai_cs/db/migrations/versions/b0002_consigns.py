"""Marketplace bridges: 确认发货 (consign.dummy) of platform orders, one row per order.

Branch ``bridges``.

Revision ID: b0002
Revises: b0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b0002"
down_revision = "b0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bridge_consigns",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("task_id", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.Text(), nullable=False),
        sa.Column("done_at", sa.Text()),
        sa.Column("updated_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bridge_consigns"),
        sa.UniqueConstraint("platform", "account_id", "order_id", name="uq_bridge_consigns_order"),
    )
    op.create_index("ix_bridge_consigns_task_id", "bridge_consigns", ["task_id"])
    op.create_index(
        "ix_bridge_consigns_due", "bridge_consigns", ["platform", "account_id", "status"]
    )


def downgrade() -> None:
    op.drop_index("ix_bridge_consigns_due", table_name="bridge_consigns")
    op.drop_index("ix_bridge_consigns_task_id", table_name="bridge_consigns")
    op.drop_table("bridge_consigns")
