"""Initial schema: the seed's two tables, payments, task id sequences, jobs and outbox.

Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ai_cs.db.migrations import columns as col

revision = "0001"
down_revision = None


def upgrade() -> None:
    col.create_table(
        "image_tasks",
        *col.texts("task_id", nullable=False),
        *col.texts("customer_id", "customer_name", "original_image", "operation", "requirements"),
        *col.texts("customer_notes", "status", "created_at", "paid_at", "started_at"),
        *col.texts("completed_at", "result_image", "error_message"),
        sa.Column("retry_count", sa.Integer(), server_default=sa.text("0")),
        *col.texts("acc_id", "acc_type"),
        *col.integers("price_fen"),
        *col.texts("quote", "risk", "conversation_id", "designer_reason", "updated_at"),
        primary_key=["task_id"],
    )
    op.create_index("ix_image_tasks_customer_id", "image_tasks", ["customer_id"])
    op.create_index("ix_image_tasks_status", "image_tasks", ["status"])
    op.create_index("ix_image_tasks_created_at", "image_tasks", ["created_at"])

    col.create_table(
        "task_requirement_changes",
        col.serial_id(),
        *col.texts("task_id", "change_type", "old_value", "new_value", "changed_at", "changed_by"),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["image_tasks.task_id"],
            name="fk_task_requirement_changes_task_id_image_tasks",
        ),
        primary_key=["id"],
    )
    op.create_index("ix_task_requirement_changes_task_id", "task_requirement_changes", ["task_id"])

    col.create_table(
        "payments",
        *col.texts("payment_id", nullable=False),
        *col.texts("task_id", "customer_id"),
        *col.integers("amount_fen"),
        *col.texts("outcome", nullable=False),
        *col.texts("detail"),
        *col.texts("received_at", nullable=False),
        primary_key=["payment_id"],
    )
    op.create_index("ix_payments_task_id", "payments", ["task_id"])

    col.create_table(
        "task_id_sequences",
        *col.texts("day", nullable=False),
        *col.integers("last", nullable=False),
        primary_key=["day"],
    )

    col.create_table(
        "jobs",
        col.serial_id(),
        *col.texts("kind", nullable=False),
        *col.texts("task_id"),
        sa.Column("payload", sa.Text(), server_default=sa.text("'{}'"), nullable=False),
        *col.texts("status", nullable=False),
        col.counter("attempts"),
        col.counter("max_attempts", 3),
        *col.reals("run_after", nullable=False),
        *col.reals("lease_until"),
        *col.texts("locked_by", "last_error"),
        *col.texts("created_at", nullable=False),
        *col.texts("finished_at"),
        primary_key=["id"],
    )
    op.create_index("ix_jobs_claim", "jobs", ["status", "run_after"])
    op.create_index(
        "uq_jobs_live_task",
        "jobs",
        ["task_id"],
        unique=True,
        sqlite_where=sa.text("status IN ('queued', 'running')"),
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )

    col.create_table(
        "outbox",
        col.serial_id(),
        *col.texts("topic", "key", "payload", nullable=False),
        *col.outbox_columns(),
        sa.UniqueConstraint("key", name="uq_outbox_key"),
        primary_key=["id"],
    )
    op.create_index("ix_outbox_due", "outbox", ["topic", "status", "next_attempt_at"])


def downgrade() -> None:
    for table in ("outbox", "jobs", "task_id_sequences", "payments"):
        op.drop_table(table)
    op.drop_table("task_requirement_changes")
    op.drop_table("image_tasks")
