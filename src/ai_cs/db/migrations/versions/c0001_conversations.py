"""Conversations, their messages and the agent's memory (branch ``conversations``).

Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa

from ai_cs.db.migrations import columns as col

revision = "c0001"
down_revision = "0001"
branch_labels = ("conversations",)

upgrade, downgrade = col.creating(
    col.table(
        "conversations",
        *col.texts("conversation_id", "platform", "account_id", "customer_id", nullable=False),
        *col.texts("customer_nick"),
        *col.reals("takeover_until"),
        *col.texts("taken_over_by", "current_task_id"),
        col.counter("needs_human"),
        *col.texts("needs_human_reason"),
        col.counter("declines"),
        *col.texts("created_at", "updated_at", nullable=False),
        *col.texts("last_message_at"),
        primary_key=["conversation_id"],
        indexes={
            "ix_conversations_customer": ["customer_id"],
            "ix_conversations_needs_human": ["needs_human", "last_message_at"],
        },
    ),
    col.serial_table(
        "conversation_messages",
        *col.texts("conversation_id", "direction", "role", nullable=False),
        sa.Column("text", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("attachments", sa.Text(), server_default=sa.text("'[]'"), nullable=False),
        *col.texts("author", "event_ids"),
        *col.texts("created_at", nullable=False),
        indexes={"ix_conversation_messages_conv": ["conversation_id", "id"]},
    ),
    col.table(
        "agent_memory",
        *col.texts("conversation_id", "messages", nullable=False),
        col.counter("turns"),
        *col.texts("updated_at", nullable=False),
        primary_key=["conversation_id"],
    ),
)
