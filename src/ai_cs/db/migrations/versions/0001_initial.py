"""Initial schema: the seed's two tables, payments, task id sequences, jobs and outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_tasks",
        sa.Column("task_id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text()),
        sa.Column("customer_name", sa.Text()),
        sa.Column("original_image", sa.Text()),
        sa.Column("operation", sa.Text()),
        sa.Column("requirements", sa.Text()),
        sa.Column("customer_notes", sa.Text()),
        sa.Column("status", sa.Text()),
        sa.Column("created_at", sa.Text()),
        sa.Column("paid_at", sa.Text()),
        sa.Column("started_at", sa.Text()),
        sa.Column("completed_at", sa.Text()),
        sa.Column("result_image", sa.Text()),
        sa.Column("error_message", sa.Text()),
        sa.Column("retry_count", sa.Integer(), server_default=sa.text("0")),
        sa.Column("acc_id", sa.Text()),
        sa.Column("acc_type", sa.Text()),
        sa.Column("price_fen", sa.Integer()),
        sa.Column("quote", sa.Text()),
        sa.Column("risk", sa.Text()),
        sa.Column("conversation_id", sa.Text()),
        sa.Column("designer_reason", sa.Text()),
        sa.Column("updated_at", sa.Text()),
        sa.PrimaryKeyConstraint("task_id", name="pk_image_tasks"),
    )
    op.create_index("ix_image_tasks_customer_id", "image_tasks", ["customer_id"])
    op.create_index("ix_image_tasks_status", "image_tasks", ["status"])
    op.create_index("ix_image_tasks_created_at", "image_tasks", ["created_at"])

    op.create_table(
        "task_requirement_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("task_id", sa.Text()),
        sa.Column("change_type", sa.Text()),
        sa.Column("old_value", sa.Text()),
        sa.Column("new_value", sa.Text()),
        sa.Column("changed_at", sa.Text()),
        sa.Column("changed_by", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_task_requirement_changes"),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["image_tasks.task_id"],
            name="fk_task_requirement_changes_task_id_image_tasks",
        ),
    )
    op.create_index("ix_task_requirement_changes_task_id", "task_requirement_changes", ["task_id"])

    op.create_table(
        "payments",
        sa.Column("payment_id", sa.Text(), nullable=False),
        sa.Column("task_id", sa.Text()),
        sa.Column("customer_id", sa.Text()),
        sa.Column("amount_fen", sa.Integer()),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text()),
        sa.Column("received_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("payment_id", name="pk_payments"),
    )
    op.create_index("ix_payments_task_id", "payments", ["task_id"])

    op.create_table(
        "task_id_sequences",
        sa.Column("day", sa.Text(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_task_id_sequences"),
    )

    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("task_id", sa.Text()),
        sa.Column("payload", sa.Text(), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("max_attempts", sa.Integer(), server_default=sa.text("3"), nullable=False),
        sa.Column("run_after", sa.Float(), nullable=False),
        sa.Column("lease_until", sa.Float()),
        sa.Column("locked_by", sa.Text()),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("finished_at", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
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

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("key", name="uq_outbox_key"),
    )
    op.create_index("ix_outbox_due", "outbox", ["topic", "status", "next_attempt_at"])


def downgrade() -> None:
    for table in ("outbox", "jobs", "task_id_sequences", "payments"):
        op.drop_table(table)
    op.drop_table("task_requirement_changes")
    op.drop_table("image_tasks")
