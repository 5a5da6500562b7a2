"""Server-side console sessions (branch ``auth``): logout and key revocation end a login.

Revision ID: a0002
Revises: a0001
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

from ai_cs.db.migrations.columns import create_table, reals, texts

revision = "a0002"
down_revision = "a0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_table(
        "console_sessions",
        *texts("session_hash", "key_id", "created_at", nullable=False),
        *reals("expires_at", nullable=False),
        primary_key=["session_hash"],
    )
    op.create_index("ix_console_sessions_key_id", "console_sessions", ["key_id"])


def downgrade() -> None:
    op.drop_index("ix_console_sessions_key_id", table_name="console_sessions")
    op.drop_table("console_sessions")
