"""Workers alive right now (branch ``workers``): a heartbeat row per processing worker.

Create Date: 2026-12-01
"""

from __future__ import annotations

from ai_cs.db.migrations import columns as col

revision = "w0001"
down_revision = "0001"
branch_labels = ("workers",)

upgrade, downgrade = col.creating(
    col.table(
        "worker_presence",
        *col.texts("worker_id", "host", nullable=False),
        *col.integers("pid", nullable=False),
        *col.texts("queue", "started_at", nullable=False),
        *col.reals("seen_epoch", nullable=False),
        primary_key=["worker_id"],
    ),
)
