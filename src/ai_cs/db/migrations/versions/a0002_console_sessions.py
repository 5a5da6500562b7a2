"""Server-side console sessions (branch ``auth``): logout and key revocation end a login.

Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

from ai_cs.db.migrations import columns as col

revision = "a0002"
down_revision = "a0001"


def upgrade() -> None:
    col.create_table(
        "console_sessions",
        *col.texts("session_hash", "key_id", "created_at", nullable=False),
        *col.reals("expires_at", nullable=False),
        primary_key=["session_hash"],
    )
    op.create_index("ix_console_sessions_key_id", "console_sessions", ["key_id"])


def downgrade() -> None:
    op.drop_index("ix_console_sessions_key_id", table_name="console_sessions")
    op.drop_table("console_sessions")
