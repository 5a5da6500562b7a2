"""经营概览: the console's first page — today's and the week's figures and a chart per day.

The figures come from :func:`ai_cs.tasks.stats.dashboard` (SQL aggregates). The chart is an SVG
written here on the server and inlined in the page: no chart library, no script, nothing
fetched from elsewhere; the page's Content-Security-Policy stays as strict as the rest.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markupsafe import Markup, escape

from ai_cs.api.console import console_staff, render, workflow_of
from ai_cs.core.money import yuan, yuan_fixed
from ai_cs.tasks import stats

router = APIRouter(
    prefix="/console", include_in_schema=False, dependencies=[Depends(console_staff)]
)

WIDTH: Final = 720
HEIGHT: Final = 260
PAD_LEFT: Final = 44
PAD_RIGHT: Final = 64
PAD_TOP: Final = 16
PAD_BOTTOM: Final = 34
ORDERS_COLOUR: Final = "#1f6feb"
PAID_COLOUR: Final = "#1a7f37"
REVENUE_COLOUR: Final = "#bf8700"


def percent(value: float | None) -> str:
    """``0.4`` → ``40%``; ``—`` without data."""
    return "—" if value is None else f"{round(value * 100)}%"


def duration(seconds: float | None) -> str:
    """Seconds as staff read them: ``45 秒``, ``12 分钟``, ``2 小时 5 分``, ``1 天 3 小时``."""
    if seconds is None:
        return "—"
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} 秒"
    minutes = s // 60
    if minutes < 60:
        return f"{minutes} 分钟"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} 小时 {minutes} 分" if minutes else f"{hours} 小时"
    days, hours = divmod(hours, 24)
    return f"{days} 天 {hours} 小时" if hours else f"{days} 天"


def _nice_max(value: float) -> float:
    """A round upper bound for an axis (1, 2, 5 × 10ⁿ) at or above ``value``."""
    if value <= 0:
        return 1.0
    step = 1.0
    while step * 10 <= value:
        step *= 10
    for factor in (1, 2, 5, 10):
        if value <= factor * step:
            return float(factor * step)
    return 10 * step


def chart_svg(days: list[stats.DayFigures]) -> Markup:
    """Bars of new and paid orders per day (left axis), a line of revenue in yuan (right axis)."""
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    n = max(1, len(days))
    slot = plot_w / n
    max_orders = _nice_max(max([d.new_orders for d in days] + [d.paid_orders for d in days] + [1]))
    max_fen = _nice_max(max([d.revenue_fen for d in days] + [100]) / 100) * 100
    bottom = PAD_TOP + plot_h
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        'class="chart" role="img" aria-labelledby="chart-title">',
        '<title id="chart-title">近 7 天每日订单数与营业额</title>',
    ]
    for i in range(5):
        y = PAD_TOP + plot_h * i / 4
        orders_tick = max_orders * (4 - i) / 4
        fen_tick = round(max_fen * (4 - i) / 4)
        parts.append(
            f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'class="grid-line"/>'
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">'
            f"{orders_tick:g}</text>"
            f'<text x="{WIDTH - PAD_RIGHT + 6}" y="{y + 4:.1f}" class="tick">'
            f"¥{yuan(fen_tick)}</text>"
        )
    bar_w = slot * 0.3
    points = []
    for i, d in enumerate(days):
        x0 = PAD_LEFT + slot * i
        centre = x0 + slot / 2
        for j, (value, colour, what) in enumerate(
            ((d.new_orders, ORDERS_COLOUR, "新订单"), (d.paid_orders, PAID_COLOUR, "已付款"))
        ):
            h = plot_h * value / max_orders
            x = centre - bar_w + j * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{bar_w - 2:.1f}" '
                f'height="{h:.1f}" fill="{colour}" class="bar" data-day="{d.day}">'
                f"<title>{escape(d.day)} {what} {value}</title></rect>"
            )
        y = bottom - plot_h * d.revenue_fen / max_fen
        points.append(f"{centre:.1f},{y:.1f}")
        label = date.fromisoformat(d.day).strftime("%m-%d")
        parts.append(
            f'<text x="{centre:.1f}" y="{bottom + 16}" text-anchor="middle" class="tick">'
            f"{label}</text>"
            f'<circle cx="{centre:.1f}" cy="{y:.1f}" r="3.5" fill="{REVENUE_COLOUR}">'
            f"<title>{escape(d.day)} 营业额 ¥{yuan_fixed(d.revenue_fen)}</title></circle>"
        )
    parts.append(
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{REVENUE_COLOUR}" '
        'stroke-width="2"/>'
    )
    legend_y = HEIGHT - 6
    for k, (colour, text) in enumerate(
        ((ORDERS_COLOUR, "新订单"), (PAID_COLOUR, "已付款"), (REVENUE_COLOUR, "营业额（元，右轴）"))
    ):
        x = PAD_LEFT + k * 110
        parts.append(
            f'<rect x="{x}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{legend_y}" class="legend">{text}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


@router.get("/")
def dashboard_page(request: Request) -> Response:
    """经营概览: figures for today and the last seven days, in the shop's time zone."""
    workflow = workflow_of(request)
    now = workflow.clock.now()  # the zone every stamp was written in
    with workflow.db.read() as session:
        figures = stats.dashboard(session, now)
    return render(
        request,
        "dashboard.html",
        {
            "figures": figures,
            "today": now.date().isoformat(),
            "windows": (("今天", figures.today), ("近 7 天", figures.week)),
            "chart": chart_svg(figures.days),
            "percent": percent,
            "duration": duration,
        },
    )
