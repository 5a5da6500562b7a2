"""One pause: ``gateway_takeovers`` goes, the conversation row is the AI's only pause.

The table mirrored ``conversations.takeover_until`` for the gateway's lanes (issue 13 item 5):
two stores of one fact. A pause found only there (longer than the conversation's) is carried
into its conversation first, so no takeover in progress ends with the upgrade. Branch
``gateway``; needs ``conversations.chat_id`` (c0002).

Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

from ai_cs.db.migrations import columns as col

revision = "g0002"
down_revision = "g0001"
depends_on = "c0002"

_SAME_CHAT = "t.account_id = conversations.account_id AND t.conversation_id = conversations.chat_id"


def upgrade() -> None:
    op.execute(
        "UPDATE conversations SET takeover_until = "
        f"(SELECT MAX(t.paused_until) FROM gateway_takeovers t WHERE {_SAME_CHAT}),"
        " taken_over_by = COALESCE((SELECT MAX(t.taken_by) FROM gateway_takeovers t"
        f" WHERE {_SAME_CHAT}), taken_over_by) "
        f"WHERE EXISTS (SELECT 1 FROM gateway_takeovers t WHERE {_SAME_CHAT}"
        " AND t.paused_until > COALESCE(conversations.takeover_until, 0))"
    )
    op.drop_table("gateway_takeovers")


def downgrade() -> None:
    col.create(col.gateway_takeovers())
