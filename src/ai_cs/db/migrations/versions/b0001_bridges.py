"""Marketplace bridges: seller accounts (cookie encrypted), their state changes, bridge sends.

Branch ``bridges``.

Revision ID: b0001
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ai_cs.db.migrations.columns import counter, create_table, integers, reals, serial_id, texts

revision = "b0001"
down_revision = "0001"
branch_labels = ("bridges",)
depends_on = None


def upgrade() -> None:
    create_table(
        "marketplace_accounts",
        serial_id(),
        *texts("platform", "account_id", nullable=False),
        *texts("nick"),
        *texts("cookie_encrypted", nullable=False),
        counter("cookie_version", 1),
        *texts("device_id", nullable=False),
        *texts("token_encrypted"),
        *reals("token_expires_epoch"),
        *texts("state", nullable=False),
        *texts("state_reason"),
        *texts("state_since", nullable=False),
        counter("paused"),
        *texts("last_event_at", "last_error", "last_error_at"),
        *texts("created_at", "updated_at", nullable=False),
        sa.UniqueConstraint("platform", "account_id", name="uq_marketplace_account"),
        primary_key=["id"],
    )
    create_table(
        "marketplace_account_events",
        serial_id(),
        *texts("platform", "account_id", nullable=False),
        *texts("previous_state"),
        *texts("state", nullable=False),
        *texts("reason"),
        *texts("created_at", nullable=False),
        *texts("notified_at"),
        primary_key=["id"],
    )
    op.create_index(
        "ix_marketplace_account_events_account",
        "marketplace_account_events",
        ["platform", "account_id"],
    )
    create_table(
        "bridge_sends",
        serial_id(),
        *texts("command_id", nullable=False),
        *integers("part", nullable=False),
        *texts("platform", "account_id", "conversation_id", nullable=False),
        *texts("message_id"),
        *texts("status", nullable=False),
        *texts("reason"),
        *texts("created_at", nullable=False),
        sa.UniqueConstraint("command_id", "part", name="uq_bridge_sends_part"),
        primary_key=["id"],
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
