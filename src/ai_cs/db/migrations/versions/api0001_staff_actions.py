"""Staff actions log (branch ``api``): who changed a task's status from the API or console.

Create Date: 2026-11-28
"""

from __future__ import annotations

from ai_cs.db.migrations import columns as col

revision = "api0001"
down_revision = "0001"
branch_labels = ("api",)

upgrade, downgrade = col.creating(
    col.serial_table(
        "staff_actions",
        *col.texts("task_id", "action", nullable=False),
        *col.texts("from_status", "to_status", "detail"),
        *col.texts("actor", nullable=False),
        *col.texts("key_id"),
        *col.texts("created_at", nullable=False),
        indexes={"ix_staff_actions_task_id": ["task_id"]},
    ),
)
