"""Server-side console sessions (branch ``auth``): logout and key revocation end a login.

Create Date: 2026-12-04
"""

from __future__ import annotations

from ai_cs.db.migrations import columns as col

revision = "a0002"
down_revision = "a0001"

upgrade, downgrade = col.creating(
    col.table(
        "console_sessions",
        *col.texts("session_hash", "key_id", "created_at", nullable=False),
        *col.reals("expires_at", nullable=False),
        primary_key=["session_hash"],
        indexes={"ix_console_sessions_key_id": ["key_id"]},
    ),
)
