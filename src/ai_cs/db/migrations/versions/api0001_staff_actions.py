"""Staff actions log (branch ``api``): who changed a task's status from the API or console.

Revision ID: api0001
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "api0001"
down_revision = "0001"
branch_labels = ("api",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("task_id", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("from_status", sa.Text()),
        sa.Column("to_status", sa.Text()),
        sa.Column("detail", sa.Text()),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Text()),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_staff_actions"),
    )
    op.create_index("ix_staff_actions_task_id", "staff_actions", ["task_id"])


def downgrade() -> None:
    op.drop_index("ix_staff_actions_task_id", table_name="staff_actions")
    op.drop_table("staff_actions")
