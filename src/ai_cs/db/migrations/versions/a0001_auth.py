"""API keys (branch ``auth``).

Revision ID: a0001
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

from ai_cs.db.migrations.columns import create_table, texts

revision = "a0001"
down_revision = "0001"
branch_labels = ("auth",)
depends_on = None


def upgrade() -> None:
    create_table(
        "api_keys",
        *texts("key_id", "name", "scope", "secret_hash", nullable=False),
        *texts("acc_ids"),
        *texts("created_at", nullable=False),
        *texts("expires_at", "revoked_at", "last_used_at"),
        primary_key=["key_id"],
    )


def downgrade() -> None:
    op.drop_table("api_keys")
