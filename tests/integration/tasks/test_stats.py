"""The dashboard's figures against known orders, on SQLite and PostgreSQL.

The clock stands at 2026-02-27 18:00 in Shanghai. Stamps are written the way the shop writes
them (ISO text with +08:00), including one at 00:30 Shanghai time — still the 26th in UTC — which
must count as today.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from ai_cs.conversations import service as conversations
from ai_cs.tasks import stats
from ai_cs.tasks.models import ImageTask
from ai_cs.workflow import Workflow
from factories import open_chat

TODAY = "2026-02-27"


def _order(workflow: Workflow, n: int, price_fen: int, **stamps: Any) -> str:
    task = workflow.create_image_task(f"buyer_{n}", f"https://img.example.com/{n}.jpg", "enhance")
    values = {"price_fen": price_fen, **stamps}
    with workflow.db.write() as session:
        session.execute(
            update(ImageTask).where(ImageTask.task_id == task["task_id"]).values(**values)
        )
    return str(task["task_id"])


def seed_known_orders(workflow: Workflow) -> None:
    """Eight orders over four days, with known figures (see the test's expectations)."""
    t = "T{}+08:00"
    # Today: four quotes; two paid (one delivered in 2.5 h), one cancelled, one still pending.
    _order(
        workflow,
        1,
        1500,
        created_at=f"{TODAY}{t.format('00:30:00.000000')}",  # 2026-02-26 16:30 UTC
        paid_at=f"{TODAY}{t.format('09:00:00.000000')}",
        completed_at=f"{TODAY}{t.format('11:30:00.000000')}",
        updated_at=f"{TODAY}{t.format('11:30:00.000000')}",
        status="completed",
    )
    _order(
        workflow,
        2,
        6500,
        created_at=f"{TODAY}{t.format('10:00:00.000000')}",
        paid_at=f"{TODAY}{t.format('10:05:00.000000')}",
        status="with_designer",
    )
    _order(
        workflow, 3, 2000, created_at=f"{TODAY}{t.format('12:00:00.000000')}", status="cancelled"
    )
    _order(workflow, 4, 3500, created_at=f"{TODAY}{t.format('17:59:00.000000')}")
    # Yesterday: quoted, paid and delivered (awaiting the customer's confirmation) in 30 min.
    _order(
        workflow,
        5,
        2000,
        created_at="2026-02-26T20:00:00.000000+08:00",
        paid_at="2026-02-26T20:10:00.000000+08:00",
        updated_at="2026-02-26T20:40:00.000000+08:00",
        status="awaiting_confirm",
    )
    # Three days ago: paid then refunded (a paid order, but no revenue).
    _order(
        workflow,
        6,
        4500,
        created_at="2026-02-24T09:00:00.000000+08:00",
        paid_at="2026-02-24T09:30:00.000000+08:00",
        status="refunded",
    )
    # Created before the window, paid inside it (counts as paid that day, not as a new order).
    _order(
        workflow,
        7,
        1000,
        created_at="2026-02-20T09:00:00.000000+08:00",
        paid_at="2026-02-21T08:00:00.000000+08:00",
        status="paid",
    )
    # Eight days ago: outside the window altogether.
    _order(
        workflow,
        8,
        9900,
        created_at="2026-02-19T09:00:00.000000+08:00",
        paid_at="2026-02-19T09:10:00.000000+08:00",
        status="completed",
        completed_at="2026-02-19T10:00:00.000000+08:00",
    )


@pytest.fixture
def seeded(fixed_workflow: Workflow) -> stats.Dashboard:
    seed_known_orders(fixed_workflow)
    with fixed_workflow.db.write() as session:
        open_chat(session, fixed_workflow.clock, "conv_review", "buyer_9")
        conversations.mark_needs_human(session, fixed_workflow.clock, "conv_review", "风险审核")
    with fixed_workflow.db.read() as session:
        return stats.dashboard(session, fixed_workflow.clock.now())


def test_today_in_the_shops_zone(seeded: stats.Dashboard) -> None:
    today = seeded.today
    assert (today.new_orders, today.paid_orders, today.revenue_fen) == (4, 2, 8000)
    assert today.quotes_paid == 2 and today.conversion == pytest.approx(0.5)
    assert today.delivered == 1
    assert today.avg_delivery_seconds == pytest.approx(2.5 * 3600, abs=1)


def test_the_last_seven_days(seeded: stats.Dashboard) -> None:
    week = seeded.week
    assert (week.new_orders, week.paid_orders) == (6, 5)
    assert week.revenue_fen == 1500 + 6500 + 2000 + 1000  # the refunded 45 元 is not revenue
    assert week.conversion == pytest.approx(4 / 6)
    assert week.delivered == 2
    assert week.avg_delivery_seconds == pytest.approx((2.5 * 3600 + 30 * 60) / 2, abs=1)


def test_per_day_series_and_counts_now(seeded: stats.Dashboard) -> None:
    days = {d.day: d for d in seeded.days}
    assert list(days) == [f"2026-02-{n}" for n in range(21, 28)]
    assert (days["2026-02-26"].new_orders, days["2026-02-26"].revenue_fen) == (1, 2000)
    assert (days["2026-02-24"].paid_orders, days["2026-02-24"].revenue_fen) == (1, 0)
    assert (days["2026-02-21"].new_orders, days["2026-02-21"].paid_orders) == (0, 1)
    assert sum(d.new_orders for d in seeded.days) == 6
    assert seeded.with_designer == 1
    assert seeded.needs_human == 1
    assert seeded.by_status["pending"] == 1


def test_an_empty_shop(fixed_workflow: Workflow) -> None:
    with fixed_workflow.db.read() as session:
        empty = stats.dashboard(session, fixed_workflow.clock.now())
    assert empty.today.new_orders == 0 and empty.week.revenue_fen == 0
    assert empty.week.conversion is None and empty.week.avg_delivery_seconds is None
    assert len(empty.days) == 7 and empty.with_designer == 0
