"""Marketplace gateway: inbox, send outbox, account leases, takeovers, result deliveries.

Branch ``gateway``.

Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ai_cs.db.migrations import columns as col

revision = "g0001"
down_revision = "0001"
branch_labels = ("gateway",)


def upgrade() -> None:
    col.create_table(
        "gateway_inbox",
        col.serial_id(),
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
        primary_key=["id"],
    )
    op.create_index(
        "ix_gateway_inbox_lane",
        "gateway_inbox",
        ["status", "account_id", "conversation_id", "id"],
    )

    col.create_table(
        "gateway_outbox",
        col.serial_id(),
        *col.texts("command_id", "account_id", "conversation_id", "to", "message", nullable=False),
        *col.retry_columns(),
        *col.texts("created_at", nullable=False),
        *col.texts("sent_at"),
        sa.UniqueConstraint("command_id", name="uq_gateway_outbox_command_id"),
        primary_key=["id"],
    )
    op.create_index("ix_gateway_outbox_due", "gateway_outbox", ["status", "next_attempt_at"])

    col.create_table(
        "gateway_account_leases",
        *col.texts("account_id", "holder", nullable=False),
        *col.reals("lease_until", nullable=False),
        *col.texts("acquired_at", nullable=False),
        primary_key=["account_id"],
    )

    col.create_gateway_takeovers()

    col.create_table(
        "result_deliveries",
        col.serial_id(),
        *col.texts("token_hash", "task_id", "result_image", nullable=False),
        *col.texts("customer_id", "account_id", "conversation_id"),
        col.counter("has_preview"),
        *col.texts("created_at", "expires_at", nullable=False),
        *col.reals("expires_epoch", nullable=False),
        sa.UniqueConstraint("token_hash", name="uq_result_deliveries_token_hash"),
        sa.UniqueConstraint("task_id", "result_image", name="uq_result_deliveries_task"),
        primary_key=["id"],
    )


def downgrade() -> None:
    for table in (
        "result_deliveries",
        "gateway_takeovers",
        "gateway_account_leases",
        "gateway_outbox",
        "gateway_inbox",
    ):
        op.drop_table(table)
