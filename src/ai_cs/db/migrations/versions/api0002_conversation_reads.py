"""When staff last read each conversation (branch ``api``): the console's unread marks.

Create Date: 2026-12-04
"""

from __future__ import annotations

from ai_cs.db.migrations import columns as col

revision = "api0002"
down_revision = "api0001"

upgrade, downgrade = col.creating(
    col.table(
        "console_conversation_reads",
        *col.texts("conversation_id", nullable=False),
        *col.integers("last_read_message_id", nullable=False),
        *col.texts("read_by"),
        *col.texts("read_at", nullable=False),
        primary_key=["conversation_id"],
    ),
)
