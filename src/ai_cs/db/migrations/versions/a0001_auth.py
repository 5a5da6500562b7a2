"""API keys (branch ``auth``).

Create Date: 2026-11-28
"""

from __future__ import annotations

from ai_cs.db.migrations import columns as col

revision = "a0001"
down_revision = "0001"
branch_labels = ("auth",)

upgrade, downgrade = col.creating(
    col.table(
        "api_keys",
        *col.texts("key_id", "name", "scope", "secret_hash", nullable=False),
        *col.texts("acc_ids"),
        *col.texts("created_at", nullable=False),
        *col.texts("expires_at", "revoked_at", "last_used_at"),
        primary_key=["key_id"],
    ),
)
