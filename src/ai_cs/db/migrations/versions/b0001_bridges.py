"""Marketplace bridges: seller accounts (cookie encrypted), their state changes, bridge sends.

Branch ``bridges``.

Revision ID: b0001
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b0001"
down_revision = "0001"
branch_labels = ("bridges",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "marketplace_accounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("nick", sa.Text()),
        sa.Column("cookie_encrypted", sa.Text(), nullable=False),
        sa.Column("cookie_version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("device_id", sa.Text(), nullable=False),
        sa.Column("token_encrypted", sa.Text()),
        sa.Column("token_expires_epoch", sa.Float()),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("state_reason", sa.Text()),
        sa.Column("state_since", sa.Text(), nullable=False),
        sa.Column("paused", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_event_at", sa.Text()),
        sa.Column("last_error", sa.Text()),
        sa.Column("last_error_at", sa.Text()),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_marketplace_accounts"),
        sa.UniqueConstraint("platform", "account_id", name="uq_marketplace_account"),
    )
    op.create_table(
        "marketplace_account_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("previous_state", sa.Text()),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("notified_at", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_marketplace_account_events"),
    )
    op.create_index(
        "ix_marketplace_account_events_account",
        "marketplace_account_events",
        ["platform", "account_id"],
    )
    op.create_table(
        "bridge_sends",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("command_id", sa.Text(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("conversation_id", sa.Text(), nullable=False),
        sa.Column("message_id", sa.Text()),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bridge_sends"),
        sa.UniqueConstraint("command_id", "part", name="uq_bridge_sends_part"),
    )
    op.create_index(
        "ix_bridge_sends_message", "bridge_sends", ["platform", "account_id", "message_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_bridge_sends_message", table_name="bridge_sends")
    op.drop_table("bridge_sends")
    op.drop_index("ix_marketplace_account_events_account", table_name="marketplace_account_events")
    op.drop_table("marketplace_account_events")
    op.drop_table("marketplace_accounts")
