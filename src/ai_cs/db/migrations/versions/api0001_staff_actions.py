"""Staff actions log (branch ``api``): who changed a task's status from the API or console.

Revision ID: api0001
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

from ai_cs.db.migrations.columns import create_table, serial_id, texts

revision = "api0001"
down_revision = "0001"
branch_labels = ("api",)
depends_on = None


def upgrade() -> None:
    create_table(
        "staff_actions",
        serial_id(),
        *texts("task_id", "action", nullable=False),
        *texts("from_status", "to_status", "detail"),
        *texts("actor", nullable=False),
        *texts("key_id"),
        *texts("created_at", nullable=False),
        primary_key=["id"],
    )
    op.create_index("ix_staff_actions_task_id", "staff_actions", ["task_id"])


def downgrade() -> None:
    op.drop_index("ix_staff_actions_task_id", table_name="staff_actions")
    op.drop_table("staff_actions")
