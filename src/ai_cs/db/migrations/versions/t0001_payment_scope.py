"""Payments are scoped by platform + shop account (issue 18 item 2).

A platform's order id is unique only inside one shop account, so the same id paid to two shops
is two payments. ``payments`` gains ``platform`` and ``account_id`` ('' for payments that came
from no marketplace, e.g. the CLI or the seed's calls) and its key becomes
``(platform, account_id, payment_id)``. Existing rows get '' and keep working as before.
Branch ``payments``.

Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "t0001"
down_revision = "0001"
branch_labels = ("payments",)


def upgrade() -> None:
    with op.batch_alter_table("payments", recreate="always") as batch:
        batch.add_column(
            sa.Column("platform", sa.Text(), server_default=sa.text("''"), nullable=False)
        )
        batch.add_column(
            sa.Column("account_id", sa.Text(), server_default=sa.text("''"), nullable=False)
        )
        batch.drop_constraint("pk_payments", type_="primary")
        batch.create_primary_key("pk_payments", ["platform", "account_id", "payment_id"])


def downgrade() -> None:
    with op.batch_alter_table("payments", recreate="always") as batch:
        batch.drop_constraint("pk_payments", type_="primary")
        batch.create_primary_key("pk_payments", ["payment_id"])
        batch.drop_column("account_id")
        batch.drop_column("platform")
