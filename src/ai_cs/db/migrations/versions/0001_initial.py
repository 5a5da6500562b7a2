"""Initial schema: the seed's two tables, payments, task id sequences, jobs and outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ai_cs.db.migrations.columns import (
    counter,
    create_table,
    integers,
    outbox_columns,
    reals,
    serial_id,
    texts,
)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_table(
        "image_tasks",
        *texts("task_id", nullable=False),
        *texts("customer_id", "customer_name", "original_image", "operation", "requirements"),
        *texts("customer_notes", "status", "created_at", "paid_at", "started_at"),
        *texts("completed_at", "result_image", "error_message"),
        sa.Column("retry_count", sa.Integer(), server_default=sa.text("0")),
        *texts("acc_id", "acc_type"),
        *integers("price_fen"),
        *texts("quote", "risk", "conversation_id", "designer_reason", "updated_at"),
        primary_key=["task_id"],
    )
    op.create_index("ix_image_tasks_customer_id", "image_tasks", ["customer_id"])
    op.create_index("ix_image_tasks_status", "image_tasks", ["status"])
    op.create_index("ix_image_tasks_created_at", "image_tasks", ["created_at"])

    create_table(
        "task_requirement_changes",
        serial_id(),
        *texts("task_id", "change_type", "old_value", "new_value", "changed_at", "changed_by"),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["image_tasks.task_id"],
            name="fk_task_requirement_changes_task_id_image_tasks",
        ),
        primary_key=["id"],
    )
    op.create_index("ix_task_requirement_changes_task_id", "task_requirement_changes", ["task_id"])

    create_table(
        "payments",
        *texts("payment_id", nullable=False),
        *texts("task_id", "customer_id"),
        *integers("amount_fen"),
        *texts("outcome", nullable=False),
        *texts("detail"),
        *texts("received_at", nullable=False),
        primary_key=["payment_id"],
    )
    op.create_index("ix_payments_task_id", "payments", ["task_id"])

    create_table(
        "task_id_sequences",
        *texts("day", nullable=False),
        *integers("last", nullable=False),
        primary_key=["day"],
    )

    create_table(
        "jobs",
        serial_id(),
        *texts("kind", nullable=False),
        *texts("task_id"),
        sa.Column("payload", sa.Text(), server_default=sa.text("'{}'"), nullable=False),
        *texts("status", nullable=False),
        counter("attempts"),
        counter("max_attempts", 3),
        *reals("run_after", nullable=False),
        *reals("lease_until"),
        *texts("locked_by", "last_error"),
        *texts("created_at", nullable=False),
        *texts("finished_at"),
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

    create_table(
        "outbox",
        serial_id(),
        *texts("topic", "key", "payload", nullable=False),
        *outbox_columns(),
        sa.UniqueConstraint("key", name="uq_outbox_key"),
        primary_key=["id"],
    )
    op.create_index("ix_outbox_due", "outbox", ["topic", "status", "next_attempt_at"])


def downgrade() -> None:
    for table in ("outbox", "jobs", "task_id_sequences", "payments"):
        op.drop_table(table)
    op.drop_table("task_requirement_changes")
    op.drop_table("image_tasks")
