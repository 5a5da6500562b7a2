"""Marketplace bridges: seller accounts (cookie encrypted), their state changes, bridge sends.

Branch ``bridges``.

Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa

from ai_cs.db.migrations import columns as col

revision = "b0001"
down_revision = "0001"
branch_labels = ("bridges",)

upgrade, downgrade = col.creating(
    col.serial_table(
        "marketplace_accounts",
        *col.texts("platform", "account_id", nullable=False),
        *col.texts("nick"),
        *col.texts("cookie_encrypted", nullable=False),
        col.counter("cookie_version", 1),
        *col.texts("device_id", nullable=False),
        *col.texts("token_encrypted"),
        *col.reals("token_expires_epoch"),
        *col.texts("state", nullable=False),
        *col.texts("state_reason"),
        *col.texts("state_since", nullable=False),
        col.counter("paused"),
        *col.texts("last_event_at", "last_error", "last_error_at"),
        *col.texts("created_at", "updated_at", nullable=False),
        sa.UniqueConstraint("platform", "account_id", name="uq_marketplace_account"),
    ),
    col.serial_table(
        "marketplace_account_events",
        *col.texts("platform", "account_id", nullable=False),
        *col.texts("previous_state"),
        *col.texts("state", nullable=False),
        *col.texts("reason"),
        *col.texts("created_at", nullable=False),
        *col.texts("notified_at"),
        indexes={"ix_marketplace_account_events_account": ["platform", "account_id"]},
    ),
    col.serial_table(
        "bridge_sends",
        *col.texts("command_id", nullable=False),
        *col.integers("part", nullable=False),
        *col.texts("platform", "account_id", "conversation_id", nullable=False),
        *col.texts("message_id"),
        *col.texts("status", nullable=False),
        *col.texts("reason"),
        *col.texts("created_at", nullable=False),
        sa.UniqueConstraint("command_id", "part", name="uq_bridge_sends_part"),
        indexes={"ix_bridge_sends_message": ["platform", "account_id", "message_id"]},
    ),
)
