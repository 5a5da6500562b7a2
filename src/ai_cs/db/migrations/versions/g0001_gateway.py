"""Marketplace gateway: inbox, send outbox, account leases, takeovers, result deliveries.

Branch ``gateway``.

Revision ID: g0001
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "g0001"
down_revision = "0001"
branch_labels = ("gateway",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_inbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("platform", sa.Text()),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("conversation_id", sa.Text(), nullable=False),
        sa.Column("sender_id", sa.Text()),
        sa.Column("sender_role", sa.Text()),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("received_epoch", sa.Float(), nullable=False),
        sa.Column("turn_id", sa.Text()),
        sa.Column("outcome", sa.Text()),
        sa.Column("last_error", sa.Text()),
        sa.Column("occurred_at", sa.Text()),
        sa.Column("received_at", sa.Text(), nullable=False),
        sa.Column("processed_at", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_gateway_inbox"),
        sa.UniqueConstraint("event_id", name="uq_gateway_inbox_event_id"),
    )
    op.create_index(
        "ix_gateway_inbox_lane",
        "gateway_inbox",
        ["status", "account_id", "conversation_id", "id"],
    )

    op.create_table(
        "gateway_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("command_id", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("conversation_id", sa.Text(), nullable=False),
        sa.Column("to", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_gateway_outbox"),
        sa.UniqueConstraint("command_id", name="uq_gateway_outbox_command_id"),
    )
    op.create_index("ix_gateway_outbox_due", "gateway_outbox", ["status", "next_attempt_at"])

    op.create_table(
        "gateway_account_leases",
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("lease_until", sa.Float(), nullable=False),
        sa.Column("acquired_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_gateway_account_leases"),
    )

    op.create_table(
        "gateway_takeovers",
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("conversation_id", sa.Text(), nullable=False),
        sa.Column("paused_until", sa.Float(), nullable=False),
        sa.Column("taken_by", sa.Text()),
        sa.Column("started_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "conversation_id", name="pk_gateway_takeovers"),
    )

    op.create_table(
        "result_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("task_id", sa.Text(), nullable=False),
        sa.Column("result_image", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text()),
        sa.Column("account_id", sa.Text()),
        sa.Column("conversation_id", sa.Text()),
        sa.Column("has_preview", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.Text(), nullable=False),
        sa.Column("expires_epoch", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_result_deliveries"),
        sa.UniqueConstraint("token_hash", name="uq_result_deliveries_token_hash"),
        sa.UniqueConstraint("task_id", "result_image", name="uq_result_deliveries_task"),
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
