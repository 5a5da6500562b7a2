"""The shop's picture library for find-image (branch ``library``).

Revision ID: l0001
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "l0001"
down_revision = "0001"
branch_labels = ("library",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "library_images",
        sa.Column("image_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("ocr_text", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("format", sa.Text(), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("phash", sa.Text(), nullable=False),
        sa.Column("dhash", sa.Text(), nullable=False),
        sa.Column("acc_id", sa.Text()),
        sa.Column("added_at", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("image_id", name="pk_library_images"),
        sa.UniqueConstraint("path", name="uq_library_images_path"),
    )
    op.create_index("ix_library_images_sha256", "library_images", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_library_images_sha256", table_name="library_images")
    op.drop_table("library_images")
