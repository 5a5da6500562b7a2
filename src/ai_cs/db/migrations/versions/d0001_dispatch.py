"""Dispatch service tables and the callback receiver's seen events (branch ``dispatch``).

Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa

from ai_cs.db.migrations import columns as col

revision = "d0001"
down_revision = "0001"
branch_labels = ("dispatch",)

upgrade, downgrade = col.creating(
    col.table(
        "dispatch_jobs",
        *col.texts("job_id", "idempotency_key", "request_hash", "task_id", nullable=False),
        *col.texts("original_image", "operation", nullable=False),
        *col.texts("customer_notes", "analysis", "quote"),
        *col.texts("reason", nullable=False),
        *col.texts("acc_id", "acc_type", "customer_id"),
        *col.texts("status", nullable=False),
        *col.texts("designer", "claimed_by_key", "claimed_at", "deadline_at"),
        *col.reals("due_epoch"),
        *col.texts("reminded_at"),
        col.counter("reminders"),
        *col.texts("finished_at", "result_path", "result_sha256", "result_mime"),
        *col.integers("result_bytes"),
        *col.texts("result_name", "callback_status"),
        *col.texts("created_at", "updated_at", nullable=False),
        sa.UniqueConstraint("idempotency_key", name="uq_dispatch_jobs_idempotency_key"),
        primary_key=["job_id"],
        indexes={
            "ix_dispatch_jobs_task_id": ["task_id"],
            "ix_dispatch_jobs_status_created": ["status", "created_at"],
            "ix_dispatch_jobs_designer": ["designer", "status"],
            "ix_dispatch_jobs_due": ["status", "due_epoch"],
        },
    ),
    col.serial_table(
        "dispatch_callbacks",
        *col.texts("event_id", "job_id", "body", nullable=False),
        *col.outbox_columns(),
        sa.UniqueConstraint("event_id", name="uq_dispatch_callbacks_event_id"),
        indexes={
            "ix_dispatch_callbacks_job_id": ["job_id"],
            "ix_dispatch_callbacks_due": ["status", "next_attempt_at"],
        },
    ),
    col.serial_table(
        "dispatch_reminders",
        *col.texts("job_id", nullable=False),
        *col.texts("designer"),
        *col.texts("kind", "message", "created_at", nullable=False),
        indexes={"ix_dispatch_reminders_job_id": ["job_id"]},
    ),
    col.table(
        "dispatch_callback_events",
        *col.texts("event_id", "job_id", "task_id", nullable=False),
        *col.texts("designer", "result_image"),
        *col.texts("received_at", nullable=False),
        primary_key=["event_id"],
        indexes={"ix_dispatch_callback_events_task_id": ["task_id"]},
    ),
)
