"""Workers alive right now (branch ``workers``): a heartbeat row per processing worker.

Revision ID: w0001
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "w0001"
down_revision = "0001"
branch_labels = ("workers",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worker_presence",
        sa.Column("worker_id", sa.Text(), nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("started_at", sa.Text(), nullable=False),
        sa.Column("seen_epoch", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("worker_id", name="pk_worker_presence"),
    )


def downgrade() -> None:
    op.drop_table("worker_presence")
