"""Shop figures for the owner's dashboard (经营概览), from SQL aggregates.

Every stamp is ISO 8601 text written in the shop's time zone (:func:`ai_cs.clock.iso`), so its
first ten characters are the shop's calendar day: grouping by ``substr(stamp, 1, 10)`` gives
"per day in the shop's zone" on SQLite and PostgreSQL alike, whatever zone the database server
runs in. Durations need instants: :class:`epoch_seconds` compiles to ``julianday`` on SQLite and
``EXTRACT(EPOCH FROM CAST(… AS timestamptz))`` on PostgreSQL; both honour the stored offset.

Definitions (what each figure counts):

- 新订单 (``new_orders``): tasks created that day — each is a quote the agent gave.
- 已付款 (``paid_orders``): tasks whose ``paid_at`` falls on that day (refunded later included).
- 营业额 (``revenue_fen``): the price of those paid tasks, minus the ones refunded since.
- 报价转化率 (``conversion``): of the quotes created in the window, the share paid so far.
- 付款到交付 (``avg_delivery_seconds``): for tasks paid in the window that reached a result
  (待确认 or 已完成), the mean of result time − ``paid_at``; the result time is ``completed_at``
  when set, else ``updated_at`` of a task still in 待确认 (nothing changes a paid task between
  its result and the customer's confirmation).
- 设计师处理中 / 待人工处理: counts right now (tasks with a designer; conversations flagged for
  a person — risk reviews, complaints, requests for a human).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Float, and_, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from ai_cs.conversations.models import Conversation
from ai_cs.core.tasks import TaskStatus
from ai_cs.tasks.models import ImageTask

DAYS = 7


class epoch_seconds(FunctionElement[float]):  # noqa: N801 - reads as the SQL function it is
    """Seconds since the epoch of an ISO 8601 text stamp (with its offset), as SQL."""

    type = Float()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(epoch_seconds)
def _epoch_default(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"EXTRACT(EPOCH FROM CAST({arg} AS TIMESTAMP WITH TIME ZONE))"


@dataclass
class Figures:
    """The figures of a window of days (today, or the last seven)."""

    new_orders: int = 0
    paid_orders: int = 0
    revenue_fen: int = 0
    quotes_paid: int = 0
    delivered: int = 0
    delivery_seconds: float = 0.0

    @property
    def conversion(self) -> float | None:
        """Share of the window's quotes paid so far (None without quotes)."""
        return self.quotes_paid / self.new_orders if self.new_orders else None

    @property
    def avg_delivery_seconds(self) -> float | None:
        """Mean seconds from payment to result (None when nothing was delivered)."""
        return self.delivery_seconds / self.delivered if self.delivered else None


@dataclass
class DayFigures(Figures):
    """One shop day's figures."""

    day: str = field(kw_only=True)


@dataclass
class Dashboard:
    """Today, the last seven days (oldest first, today last) and the counts right now."""

    today: Figures
    week: Figures
    days: list[DayFigures]
    with_designer: int
    needs_human: int
    by_status: dict[str, int] = field(default_factory=dict)


def _day(column: Any) -> ColumnElement[str]:
    return func.substr(column, 1, 10)


def _window(today: date) -> tuple[list[str], str, str]:
    days = [(today - timedelta(days=DAYS - 1 - i)).isoformat() for i in range(DAYS)]
    return days, days[0], days[-1]


def dashboard(session: Session, now: datetime) -> Dashboard:
    """The dashboard's figures; ``now`` is the clock's time in the shop's zone."""
    days, first, last = _window(now.date())
    rows = {d: DayFigures(day=d) for d in days}

    created = _day(ImageTask.created_at)
    for day, new, quotes_paid in session.execute(
        select(created, func.count(), func.count(ImageTask.paid_at))
        .where(created >= first, created <= last)
        .group_by(created)
    ):
        rows[day].new_orders, rows[day].quotes_paid = int(new), int(quotes_paid)

    paid = _day(ImageTask.paid_at)
    refunded = ImageTask.status == TaskStatus.REFUNDED.value
    delivered = ImageTask.status.in_(
        (TaskStatus.AWAITING_CONFIRM.value, TaskStatus.COMPLETED.value)
    )
    result_at = func.coalesce(ImageTask.completed_at, ImageTask.updated_at)
    for day, count, revenue, n_delivered, seconds in session.execute(
        select(
            paid,
            func.count(),
            func.coalesce(
                func.sum(case((refunded, 0), else_=func.coalesce(ImageTask.price_fen, 0))), 0
            ),
            func.count(case((delivered, 1))),
            func.coalesce(
                func.sum(
                    case(
                        (
                            and_(delivered, result_at.is_not(None)),
                            epoch_seconds(result_at) - epoch_seconds(ImageTask.paid_at),
                        ),
                        else_=0.0,
                    )
                ),
                0.0,
            ),
        )
        .where(ImageTask.paid_at.is_not(None), paid >= first, paid <= last)
        .group_by(paid)
    ):
        row = rows[day]
        row.paid_orders, row.revenue_fen = int(count), int(revenue)
        row.delivered, row.delivery_seconds = int(n_delivered), float(seconds)

    by_status = {
        str(status): int(n)
        for status, n in session.execute(
            select(ImageTask.status, func.count()).group_by(ImageTask.status)
        )
    }
    needs_human = session.execute(
        select(func.count()).select_from(Conversation).where(Conversation.needs_human == 1)
    ).scalar_one()
    ordered = [rows[d] for d in days]
    return Dashboard(
        today=_sum(ordered[-1:]),
        week=_sum(ordered),
        days=ordered,
        with_designer=by_status.get(TaskStatus.WITH_DESIGNER.value, 0),
        needs_human=int(needs_human),
        by_status=by_status,
    )


def _sum(days: list[DayFigures]) -> Figures:
    totals: dict[str, Any] = {
        f.name: sum(getattr(d, f.name) for d in days) for f in fields(Figures)
    }
    return Figures(**totals)
