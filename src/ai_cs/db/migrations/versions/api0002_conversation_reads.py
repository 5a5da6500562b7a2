"""When staff last read each conversation (branch ``api``): the console's unread marks.

Revision ID: api0002
Revises: api0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "api0002"
down_revision = "api0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_conversation_reads",
        sa.Column("conversation_id", sa.Text(), nullable=False),
        sa.Column("last_read_message_id", sa.Integer(), nullable=False),
        sa.Column("read_by", sa.Text()),
        sa.Column("read_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_console_conversation_reads"),
    )


def downgrade() -> None:
    op.drop_table("console_conversation_reads")
