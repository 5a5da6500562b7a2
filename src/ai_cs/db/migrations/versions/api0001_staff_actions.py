"""Staff actions log (branch ``api``): who changed a task's status from the API or console.

Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

from ai_cs.db.migrations import columns as col

revision = "api0001"
down_revision = "0001"
branch_labels = ("api",)


def upgrade() -> None:
    col.create_table(
        "staff_actions",
        col.serial_id(),
        *col.texts("task_id", "action", nullable=False),
        *col.texts("from_status", "to_status", "detail"),
        *col.texts("actor", nullable=False),
        *col.texts("key_id"),
        *col.texts("created_at", nullable=False),
        primary_key=["id"],
    )
    op.create_index("ix_staff_actions_task_id", "staff_actions", ["task_id"])


def downgrade() -> None:
    op.drop_index("ix_staff_actions_task_id", table_name="staff_actions")
    op.drop_table("staff_actions")
