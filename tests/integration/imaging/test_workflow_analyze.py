"""``Workflow.analyze_picture``: intake → analysis → risk → quote → the pending task."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pictures import id_card, photo_like, poster
from PIL import Image

from ai_cs.config import Settings
from ai_cs.workflow import Workflow

Analyze = Callable[..., tuple[Workflow, Any, Any]]
"""``analyze(picture, **kw)`` → the workflow, the task (or ``None``) and the analysis report."""


@pytest.fixture
def analyze(database_url: str, settings: Settings, tmp_path: Path) -> Analyze:
    """``analyze(picture, **kw)``: the picture saved as a file and analysed for customer c1."""
    wf = Workflow(database_url=database_url, settings=settings)

    def run(picture: Image.Image, **kwargs: Any) -> tuple[Workflow, Any, Any]:
        path = tmp_path / "picture.png"
        picture.save(path)
        task, report = wf.analyze_picture("c1", str(path), **kwargs)
        return wf, task, report

    return run


def test_a_poster_with_text_becomes_a_60_to_80_yuan_pending_task(analyze: Analyze) -> None:
    _, task, report = analyze(poster(), operation="vectorize", acc_id="shop1", acc_type="xianyu")
    assert task is not None and task["status"] == "pending"
    assert 6000 <= task["price_fen"] <= 8000
    assert task["quote"]["total_fen"] == task["price_fen"] == report.quote.total_fen
    assert task["requirements"]["text_found"] is True
    assert task["requirements"]["complexity"] in {"simple", "normal", "complex"}
    assert task["acc_id"] == "shop1" and task["acc_type"] == "xianyu"
    assert task["risk"]["decision"] == "accept"


def test_a_photo_without_text_is_quoted_without_surcharge(analyze: Analyze) -> None:
    _, task, _ = analyze(photo_like(), operation="enhance")
    assert task is not None and task["price_fen"] < 6000
    assert task["requirements"]["text_found"] is False


def test_an_id_card_creates_no_task(analyze: Analyze) -> None:
    wf, task, report = analyze(id_card(), operation="enhance")
    assert task is None
    assert report.risk.decision.value in {"review", "decline"}
    assert wf.get_customer_tasks("c1") == []
