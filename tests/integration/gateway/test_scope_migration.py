"""A database from before the platform + account scope keeps working after the migrations."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text
from sqlalchemy.orm import Session

from ai_cs.clock import FixedClock
from ai_cs.conversations import service as conversations
from ai_cs.db.database import Database
from ai_cs.db.migrate import alembic_config, upgrade
from ai_cs.jobs.queue import JobSpec
from ai_cs.tasks import service as tasks


class _NoJobs:
    """A queue a repeated payment must never use."""

    name = "none"

    def enqueue(self, session: Session, job: JobSpec) -> None:
        raise AssertionError(f"a repeated payment enqueued {job}")


def test_old_conversations_and_payments_are_found_in_their_scope(
    database_url: str, clock: FixedClock
) -> None:
    db = Database(database_url)
    cfg = alembic_config(db.url)
    with db.writer.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "c0001")  # conversations before c0002, payments before t0001
        conn.execute(
            text(
                "INSERT INTO conversations (conversation_id, platform, account_id, customer_id,"
                " needs_human, declines, created_at, updated_at)"
                " VALUES ('conv-old', 'xianyu', 'shop-1', 'buyer-1', 0, 0, 'x', 'x')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO payments (payment_id, customer_id, outcome, received_at)"
                " VALUES ('PAY-OLD', 'buyer-1', 'unmatched', 'x')"
            )
        )
    upgrade(db)

    def check(session: Session) -> None:
        found = conversations.find_conversation(
            session, platform="xianyu", account_id="shop-1", chat_id="conv-old"
        )
        assert found is not None and found.conversation_id == "conv-old"
        again = conversations.open_conversation(
            session,
            clock,
            conversation_id="conv-old",
            platform="xianyu",
            account_id="shop-1",
            customer_id="buyer-1",
        )
        assert again.conversation_id == "conv-old"  # the same row, not a second one
        other = conversations.open_conversation(
            session,
            clock,
            conversation_id="conv-old",
            platform="xianyu",
            account_id="shop-2",
            customer_id="buyer-1",
        )
        assert other.conversation_id != "conv-old" and other.chat_id == "conv-old"
        repeat = tasks.apply_payment(
            session, clock, _NoJobs(), customer_id="buyer-1", payment_id="PAY-OLD"
        )
        assert repeat.duplicate and repeat.outcome == "unmatched"

    db.run_write(check)
    db.dispose()
