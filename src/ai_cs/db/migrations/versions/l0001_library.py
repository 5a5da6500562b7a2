"""The shop's picture library for find-image (branch ``library``).

Revision ID: l0001
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ai_cs.db.migrations.columns import create_table, integers, texts

revision = "l0001"
down_revision = "0001"
branch_labels = ("library",)
depends_on = None


def upgrade() -> None:
    create_table(
        "library_images",
        sa.Column("image_id", sa.Integer(), autoincrement=True, nullable=False),
        *texts("path", "file_name", "folder", "tags", "ocr_text", "search_text", nullable=False),
        *integers("width", "height", nullable=False),
        *texts("format", nullable=False),
        *integers("bytes", nullable=False),
        *texts("sha256", "phash", "dhash", nullable=False),
        *texts("acc_id"),
        *texts("added_at", "updated_at", nullable=False),
        sa.UniqueConstraint("path", name="uq_library_images_path"),
        primary_key=["image_id"],
    )
    op.create_index("ix_library_images_sha256", "library_images", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_library_images_sha256", table_name="library_images")
    op.drop_table("library_images")
