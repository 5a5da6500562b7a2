"""Marketplace gateway: inbox, send outbox, account leases, takeovers, result deliveries.

Branch ``gateway``.

Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa

from ai_cs.db.migrations import columns as col

revision = "g0001"
down_revision = "0001"
branch_labels = ("gateway",)

upgrade, downgrade = col.creating(
    col.serial_table(
        "gateway_inbox",
        *col.texts("event_id", "kind", nullable=False),
        *col.texts("platform"),
        *col.texts("account_id", "conversation_id", nullable=False),
        *col.texts("sender_id", "sender_role"),
        *col.texts("raw", nullable=False),
        *col.retry_columns(),
        *col.reals("received_epoch", nullable=False),
        *col.texts("turn_id", "outcome", "last_error", "occurred_at"),
        *col.texts("received_at", nullable=False),
        *col.texts("processed_at"),
        sa.UniqueConstraint("event_id", name="uq_gateway_inbox_event_id"),
        indexes={"ix_gateway_inbox_lane": ["status", "account_id", "conversation_id", "id"]},
    ),
    col.serial_table(
        "gateway_outbox",
        *col.texts("command_id", "account_id", "conversation_id", "to", "message", nullable=False),
        *col.retry_columns(),
        *col.texts("created_at", nullable=False),
        *col.texts("sent_at"),
        sa.UniqueConstraint("command_id", name="uq_gateway_outbox_command_id"),
        indexes={"ix_gateway_outbox_due": ["status", "next_attempt_at"]},
    ),
    col.table(
        "gateway_account_leases",
        *col.texts("account_id", "holder", nullable=False),
        *col.reals("lease_until", nullable=False),
        *col.texts("acquired_at", nullable=False),
        primary_key=["account_id"],
    ),
    col.gateway_takeovers(),
    col.serial_table(
        "result_deliveries",
        *col.texts("token_hash", "task_id", "result_image", nullable=False),
        *col.texts("customer_id", "account_id", "conversation_id"),
        col.counter("has_preview"),
        *col.texts("created_at", "expires_at", nullable=False),
        *col.reals("expires_epoch", nullable=False),
        sa.UniqueConstraint("token_hash", name="uq_result_deliveries_token_hash"),
        sa.UniqueConstraint("task_id", "result_image", name="uq_result_deliveries_task"),
    ),
)
