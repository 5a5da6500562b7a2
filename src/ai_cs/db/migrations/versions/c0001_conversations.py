"""Conversations, their messages and the agent's memory (branch ``conversations``).

Revision ID: c0001
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c0001"
down_revision = "0001"
branch_labels = ("conversations",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("conversation_id", sa.Text(), nullable=False),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("customer_nick", sa.Text()),
        sa.Column("takeover_until", sa.Float()),
        sa.Column("taken_over_by", sa.Text()),
        sa.Column("current_task_id", sa.Text()),
        sa.Column("needs_human", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("needs_human_reason", sa.Text()),
        sa.Column("declines", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Text(), nullable=False),
        sa.Column("last_message_at", sa.Text()),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_conversations"),
    )
    op.create_index("ix_conversations_customer", "conversations", ["customer_id"])
    op.create_index(
        "ix_conversations_needs_human", "conversations", ["needs_human", "last_message_at"]
    )
    op.create_table(
        "conversation_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.Text(), nullable=False),
        sa.Column("direction", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("attachments", sa.Text(), server_default=sa.text("'[]'"), nullable=False),
        sa.Column("author", sa.Text()),
        sa.Column("event_ids", sa.Text()),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_messages"),
    )
    op.create_index(
        "ix_conversation_messages_conv", "conversation_messages", ["conversation_id", "id"]
    )
    op.create_table(
        "agent_memory",
        sa.Column("conversation_id", sa.Text(), nullable=False),
        sa.Column("messages", sa.Text(), nullable=False),
        sa.Column("turns", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_agent_memory"),
    )


def downgrade() -> None:
    op.drop_table("agent_memory")
    op.drop_index("ix_conversation_messages_conv", table_name="conversation_messages")
    op.drop_table("conversation_messages")
    op.drop_index("ix_conversations_needs_human", table_name="conversations")
    op.drop_index("ix_conversations_customer", table_name="conversations")
    op.drop_table("conversations")
