"""Workers alive right now (branch ``workers``): a heartbeat row per processing worker.

Revision ID: w0001
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

from ai_cs.db.migrations.columns import create_table, integers, reals, texts

revision = "w0001"
down_revision = "0001"
branch_labels = ("workers",)
depends_on = None


def upgrade() -> None:
    create_table(
        "worker_presence",
        *texts("worker_id", "host", nullable=False),
        *integers("pid", nullable=False),
        *texts("queue", "started_at", nullable=False),
        *reals("seen_epoch", nullable=False),
        primary_key=["worker_id"],
    )


def downgrade() -> None:
    op.drop_table("worker_presence")
