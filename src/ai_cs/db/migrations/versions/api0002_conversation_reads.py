"""When staff last read each conversation (branch ``api``): the console's unread marks.

Revision ID: api0002
Revises: api0001
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

from ai_cs.db.migrations.columns import create_table, integers, texts

revision = "api0002"
down_revision = "api0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_table(
        "console_conversation_reads",
        *texts("conversation_id", nullable=False),
        *integers("last_read_message_id", nullable=False),
        *texts("read_by"),
        *texts("read_at", nullable=False),
        primary_key=["conversation_id"],
    )


def downgrade() -> None:
    op.drop_table("console_conversation_reads")
