"""Dispatch service tables and the callback receiver's seen events (branch ``dispatch``).

Revision ID: d0001
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "d0001"
down_revision = "0001"
branch_labels = ("dispatch",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dispatch_jobs",
        sa.Column("job_id", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("task_id", sa.Text(), nullable=False),
        sa.Column("original_image", sa.Text(), nullable=False),
        sa.Column("operation", sa.Text(), nullable=False),
        sa.Column("customer_notes", sa.Text()),
        sa.Column("analysis", sa.Text()),
        sa.Column("quote", sa.Text()),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("acc_id", sa.Text()),
        sa.Column("acc_type", sa.Text()),
        sa.Column("customer_id", sa.Text()),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("designer", sa.Text()),
        sa.Column("claimed_by_key", sa.Text()),
        sa.Column("claimed_at", sa.Text()),
        sa.Column("deadline_at", sa.Text()),
        sa.Column("due_epoch", sa.Float()),
        sa.Column("reminded_at", sa.Text()),
        sa.Column("reminders", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("finished_at", sa.Text()),
        sa.Column("result_path", sa.Text()),
        sa.Column("result_sha256", sa.Text()),
        sa.Column("result_mime", sa.Text()),
        sa.Column("result_bytes", sa.Integer()),
        sa.Column("result_name", sa.Text()),
        sa.Column("callback_status", sa.Text()),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", name="pk_dispatch_jobs"),
        sa.UniqueConstraint("idempotency_key", name="uq_dispatch_jobs_idempotency_key"),
    )
    op.create_index("ix_dispatch_jobs_task_id", "dispatch_jobs", ["task_id"])
    op.create_index("ix_dispatch_jobs_status_created", "dispatch_jobs", ["status", "created_at"])
    op.create_index("ix_dispatch_jobs_designer", "dispatch_jobs", ["designer", "status"])
    op.create_index("ix_dispatch_jobs_due", "dispatch_jobs", ["status", "due_epoch"])

    op.create_table(
        "dispatch_callbacks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("job_id", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_dispatch_callbacks"),
        sa.UniqueConstraint("event_id", name="uq_dispatch_callbacks_event_id"),
    )
    op.create_index("ix_dispatch_callbacks_job_id", "dispatch_callbacks", ["job_id"])
    op.create_index(
        "ix_dispatch_callbacks_due", "dispatch_callbacks", ["status", "next_attempt_at"]
    )

    op.create_table(
        "dispatch_reminders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.Text(), nullable=False),
        sa.Column("designer", sa.Text()),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dispatch_reminders"),
    )
    op.create_index("ix_dispatch_reminders_job_id", "dispatch_reminders", ["job_id"])

    op.create_table(
        "dispatch_callback_events",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("job_id", sa.Text(), nullable=False),
        sa.Column("task_id", sa.Text(), nullable=False),
        sa.Column("designer", sa.Text()),
        sa.Column("result_image", sa.Text()),
        sa.Column("received_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_dispatch_callback_events"),
    )
    op.create_index("ix_dispatch_callback_events_task_id", "dispatch_callback_events", ["task_id"])


def downgrade() -> None:
    for table in (
        "dispatch_callback_events",
        "dispatch_reminders",
        "dispatch_callbacks",
        "dispatch_jobs",
    ):
        op.drop_table(table)
