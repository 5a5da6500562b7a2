"""Conversations, their messages and the agent's memory (branch ``conversations``).

Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ai_cs.db.migrations import columns as col

revision = "c0001"
down_revision = "0001"
branch_labels = ("conversations",)


def upgrade() -> None:
    col.create_table(
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
    )
    op.create_index("ix_conversations_customer", "conversations", ["customer_id"])
    op.create_index(
        "ix_conversations_needs_human", "conversations", ["needs_human", "last_message_at"]
    )
    col.create_table(
        "conversation_messages",
        col.serial_id(),
        *col.texts("conversation_id", "direction", "role", nullable=False),
        sa.Column("text", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("attachments", sa.Text(), server_default=sa.text("'[]'"), nullable=False),
        *col.texts("author", "event_ids"),
        *col.texts("created_at", nullable=False),
        primary_key=["id"],
    )
    op.create_index(
        "ix_conversation_messages_conv", "conversation_messages", ["conversation_id", "id"]
    )
    col.create_table(
        "agent_memory",
        *col.texts("conversation_id", "messages", nullable=False),
        col.counter("turns"),
        *col.texts("updated_at", nullable=False),
        primary_key=["conversation_id"],
    )


def downgrade() -> None:
    op.drop_table("agent_memory")
    op.drop_index("ix_conversation_messages_conv", table_name="conversation_messages")
    op.drop_table("conversation_messages")
    op.drop_index("ix_conversations_needs_human", table_name="conversations")
    op.drop_index("ix_conversations_customer", table_name="conversations")
    op.drop_table("conversations")
