"""``Workflow.analyze_picture``: intake → analysis → risk → quote → the pending task."""

from __future__ import annotations

from pathlib import Path

from pictures import id_card, photo_like, poster

from ai_cs.config import Settings
from ai_cs.workflow import Workflow


def test_a_poster_with_text_becomes_a_60_to_80_yuan_pending_task(
    database_url: str, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "poster.png"
    poster().save(path)
    wf = Workflow(database_url=database_url, settings=settings)
    task, report = wf.analyze_picture(
        "c1", str(path), operation="vectorize", acc_id="shop1", acc_type="xianyu"
    )
    assert task is not None and task["status"] == "pending"
    assert 6000 <= task["price_fen"] <= 8000
    assert task["quote"]["total_fen"] == task["price_fen"] == report.quote.total_fen
    assert task["requirements"]["text_found"] is True
    assert task["requirements"]["complexity"] in {"simple", "normal", "complex"}
    assert task["acc_id"] == "shop1" and task["acc_type"] == "xianyu"
    assert task["risk"]["decision"] == "accept"


def test_a_photo_without_text_is_quoted_without_surcharge(
    database_url: str, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "photo.png"
    photo_like().save(path)
    wf = Workflow(database_url=database_url, settings=settings)
    task, _ = wf.analyze_picture("c1", str(path), operation="enhance")
    assert task is not None and task["price_fen"] < 6000
    assert task["requirements"]["text_found"] is False


def test_an_id_card_creates_no_task(database_url: str, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "id.png"
    id_card().save(path)
    wf = Workflow(database_url=database_url, settings=settings)
    task, report = wf.analyze_picture("c1", str(path), operation="enhance")
    assert task is None
    assert report.risk.decision.value in {"review", "decline"}
    assert wf.get_customer_tasks("c1") == []
