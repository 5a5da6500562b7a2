"""The shop's picture library for find-image (branch ``library``).

Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa

from ai_cs.db.migrations import columns as col

revision = "l0001"
down_revision = "0001"
branch_labels = ("library",)

upgrade, downgrade = col.creating(
    col.table(
        "library_images",
        sa.Column("image_id", sa.Integer(), autoincrement=True, nullable=False),
        *col.texts(
            "path", "file_name", "folder", "tags", "ocr_text", "search_text", nullable=False
        ),
        *col.integers("width", "height", nullable=False),
        *col.texts("format", nullable=False),
        *col.integers("bytes", nullable=False),
        *col.texts("sha256", "phash", "dhash", nullable=False),
        *col.texts("acc_id"),
        *col.texts("added_at", "updated_at", nullable=False),
        sa.UniqueConstraint("path", name="uq_library_images_path"),
        primary_key=["image_id"],
        indexes={"ix_library_images_sha256": ["sha256"]},
    ),
)
