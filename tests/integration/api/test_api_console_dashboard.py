"""经营概览 over HTTP: the console's first page shows the shop's figures and an inline SVG chart."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ai_cs.api.console_dashboard import _nice_max, duration, percent
from ai_cs.api.server import ThreadedServer


def test_console_opens_on_the_dashboard(
    server: ThreadedServer, keys: dict[str, str], make_task: Callable[..., dict[str, Any]]
) -> None:
    make_task(price_fen=6500)
    make_task("paid", price_fen=2000)
    make_task("with_designer", price_fen=1500)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        login = http.post("/console/login", data={"key": keys["staff"], "next": "/console/"})
        assert login.headers["location"] == "/console/"
        page = http.get("/console/")
        board = http.get("/console/board")
    assert page.status_code == 200 and "经营概览" in page.text
    today = page.text.split('data-window="today"')[1].split("</section>")[0]
    assert re.search(r'data-figure="new_orders">3<', today)
    assert re.search(r'data-figure="paid_orders">2<', today)
    assert "¥35.00" in today  # 20 + 15 元 paid today
    assert re.search(r'data-figure="conversion">67%<', today)
    assert re.search(r'data-figure="with_designer"><a [^>]*>1<', page.text)
    assert page.text.count('class="bar"') == 14  # two bars a day, seven days
    assert "<script" not in page.text.split("</head>")[1]  # the chart needs no script
    assert board.status_code == 200 and 'id="board"' in board.text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (42, "42 秒"), (600, "10 分钟"), (7500, "2 小时 5 分"), (90000, "1 天 1 小时")],
)
def test_duration_reads_like_a_person(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_percent_and_axis_bounds() -> None:
    assert percent(None) == "—" and percent(2 / 3) == "67%"
    assert [_nice_max(v) for v in (0, 1, 3, 7, 12, 48, 101)] == [1, 1, 5, 10, 20, 50, 200]
