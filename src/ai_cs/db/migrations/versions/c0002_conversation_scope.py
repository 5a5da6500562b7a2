"""Conversations are scoped by platform + shop account (issue 18 item 2).

A marketplace names a chat by an id that is unique only inside one shop account: two shops (or
two platforms) can see the same chat id. ``conversations.chat_id`` keeps the platform's id and
``(platform, account_id, chat_id)`` is unique; ``conversation_id`` stays our own key. Existing
rows keep their id and get it as their chat id, so every stored link and task still points at
the same conversation. Branch ``conversations``.

Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c0002"
down_revision = "c0001"


def upgrade() -> None:
    op.add_column("conversations", sa.Column("chat_id", sa.Text()))
    op.execute("UPDATE conversations SET chat_id = conversation_id")
    with op.batch_alter_table("conversations") as batch:
        batch.alter_column("chat_id", existing_type=sa.Text(), nullable=False)
    op.create_index(
        "uq_conversations_chat",
        "conversations",
        ["platform", "account_id", "chat_id"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_conversations_chat", table_name="conversations")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("chat_id")
