"""Marketplace gateway: inbox, send outbox, account leases, takeovers, result deliveries.

Branch ``gateway``.

Revision ID: g0001
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ai_cs.db.migrations.columns import (
    counter,
    create_gateway_takeovers,
    create_table,
    reals,
    retry_columns,
    serial_id,
    texts,
)

revision = "g0001"
down_revision = "0001"
branch_labels = ("gateway",)
depends_on = None


def upgrade() -> None:
    create_table(
        "gateway_inbox",
        serial_id(),
        *texts("event_id", "kind", nullable=False),
        *texts("platform"),
        *texts("account_id", "conversation_id", nullable=False),
        *texts("sender_id", "sender_role"),
        *texts("raw", nullable=False),
        *retry_columns(),
        *reals("received_epoch", nullable=False),
        *texts("turn_id", "outcome", "last_error", "occurred_at"),
        *texts("received_at", nullable=False),
        *texts("processed_at"),
        sa.UniqueConstraint("event_id", name="uq_gateway_inbox_event_id"),
        primary_key=["id"],
    )
    op.create_index(
        "ix_gateway_inbox_lane",
        "gateway_inbox",
        ["status", "account_id", "conversation_id", "id"],
    )

    create_table(
        "gateway_outbox",
        serial_id(),
        *texts("command_id", "account_id", "conversation_id", "to", "message", nullable=False),
        *retry_columns(),
        *texts("created_at", nullable=False),
        *texts("sent_at"),
        sa.UniqueConstraint("command_id", name="uq_gateway_outbox_command_id"),
        primary_key=["id"],
    )
    op.create_index("ix_gateway_outbox_due", "gateway_outbox", ["status", "next_attempt_at"])

    create_table(
        "gateway_account_leases",
        *texts("account_id", "holder", nullable=False),
        *reals("lease_until", nullable=False),
        *texts("acquired_at", nullable=False),
        primary_key=["account_id"],
    )

    create_gateway_takeovers()

    create_table(
        "result_deliveries",
        serial_id(),
        *texts("token_hash", "task_id", "result_image", nullable=False),
        *texts("customer_id", "account_id", "conversation_id"),
        counter("has_preview"),
        *texts("created_at", "expires_at", nullable=False),
        *reals("expires_epoch", nullable=False),
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
