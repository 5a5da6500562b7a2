"""Conversations, their messages and the agent's memory (branch ``conversations``).

Revision ID: c0001
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ai_cs.db.migrations.columns import counter, create_table, reals, serial_id, texts

revision = "c0001"
down_revision = "0001"
branch_labels = ("conversations",)
depends_on = None


def upgrade() -> None:
    create_table(
        "conversations",
        *texts("conversation_id", "platform", "account_id", "customer_id", nullable=False),
        *texts("customer_nick"),
        *reals("takeover_until"),
        *texts("taken_over_by", "current_task_id"),
        counter("needs_human"),
        *texts("needs_human_reason"),
        counter("declines"),
        *texts("created_at", "updated_at", nullable=False),
        *texts("last_message_at"),
        primary_key=["conversation_id"],
    )
    op.create_index("ix_conversations_customer", "conversations", ["customer_id"])
    op.create_index(
        "ix_conversations_needs_human", "conversations", ["needs_human", "last_message_at"]
    )
    create_table(
        "conversation_messages",
        serial_id(),
        *texts("conversation_id", "direction", "role", nullable=False),
        sa.Column("text", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("attachments", sa.Text(), server_default=sa.text("'[]'"), nullable=False),
        *texts("author", "event_ids"),
        *texts("created_at", nullable=False),
        primary_key=["id"],
    )
    op.create_index(
        "ix_conversation_messages_conv", "conversation_messages", ["conversation_id", "id"]
    )
    create_table(
        "agent_memory",
        *texts("conversation_id", "messages", nullable=False),
        counter("turns"),
        *texts("updated_at", nullable=False),
        primary_key=["conversation_id"],
    )


def downgrade() -> None:
    op.drop_table("agent_memory")
    op.drop_index("ix_conversation_messages_conv", table_name="conversation_messages")
    op.drop_table("conversation_messages")
    op.drop_index("ix_conversations_needs_human", table_name="conversations")
    op.drop_index("ix_conversations_customer", table_name="conversations")
    op.drop_table("conversations")
