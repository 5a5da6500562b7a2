"""Board cards and task pages for people: stored-picture previews, labels instead of fields."""

from __future__ import annotations

import io
import re
from typing import Any

import httpx
from PIL import Image
from sqlalchemy import update

from ai_cs import datafiles
from ai_cs.config import Settings
from ai_cs.core.pricing import Complexity, Quote, QuoteItem, Surcharge
from ai_cs.core.tasks import Operation
from ai_cs.tasks.models import ImageTask
from ai_cs.workflow import Workflow
from factories import analysed_task

QUOTE = Quote(
    operation=Operation.REMOVE_BG,
    complexity=Complexity.NORMAL,
    items=[
        QuoteItem(code="base", label="去除背景（普通）", amount_fen=2000),
        QuoteItem(code="text", label="文字加价", amount_fen=500),
    ],
    total_fen=2500,
    surcharge=Surcharge(applied=False),
)
"""The stored quote, in the shape pricing writes it."""

RAW_FIELDS = (
    "image_sha256",
    "perspective_quad",
    "stored_image",
    "false",
    "true",
    "normal",
    "None",
    "text_found",
)


def _stored_picture(settings: Settings) -> str:
    out = io.BytesIO()
    Image.new("RGB", (900, 600), (30, 90, 200)).save(out, "PNG")
    return datafiles.put(settings.data_dir, "images", out.getvalue(), "png")


def _analysed_task(workflow: Workflow, settings: Settings) -> dict[str, Any]:
    return analysed_task(
        workflow,
        _stored_picture(settings),
        (900, 600),
        operation="remove_bg",
        customer_name="小明",
        quote=QUOTE.model_dump(mode="json"),
    )


def test_task_page_reads_like_a_person_wrote_it(
    console: httpx.Client, workflow: Workflow, settings: Settings
) -> None:
    task = _analysed_task(workflow, settings)
    page = console.get(f"/console/tasks/{task['task_id']}")
    assert page.status_code == 200
    main = page.text.split("<main>")[1]
    visible = re.sub(r"<[^>]+>", " ", main)
    for raw in RAW_FIELDS:
        assert not re.search(rf"\b{raw}\b", visible), raw
    assert "复杂度" in visible and "普通" in visible and "900 × 600 像素" in visible
    assert "去除背景（普通）" in visible and "¥20.00" in visible and "¥25.00" in visible
    assert "闲鱼" in visible
    assert "https://img.example.com/poster.jpg" not in main  # only our stored copy is shown
    assert f"/console/tasks/{task['task_id']}/preview/original?size=480" in main


def test_previews_are_served_small_and_only_for_stored_pictures(
    console: httpx.Client, workflow: Workflow, settings: Settings
) -> None:
    task = _analysed_task(workflow, settings)
    url_only = workflow.create_image_task("buyer_2", "https://img.example.com/x.jpg", "enhance")
    preview = console.get(f"/console/tasks/{task['task_id']}/preview/original?size=160")
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/webp"
    assert "sandbox" in preview.headers["content-security-policy"]
    with Image.open(io.BytesIO(preview.content)) as image:
        assert image.size == (160, 107)
    assert list((settings.data_dir / "thumbs" / "160").rglob("*.webp"))
    for bad in (
        f"/console/tasks/{task['task_id']}/preview/original?size=4000",
        f"/console/tasks/{task['task_id']}/preview/result?size=160",
        f"/console/tasks/{task['task_id']}/preview/database?size=160",
        f"/console/tasks/{url_only['task_id']}/preview/original?size=160",
    ):
        assert console.get(bad).status_code == 404, bad
    board = console.get("/console/board")
    cards = board.text.split('data-task-id="')
    ours = next(c for c in cards if c.startswith(task["task_id"]))
    theirs = next(c for c in cards if c.startswith(url_only["task_id"]))
    assert "/preview/original?size=160" in ours
    assert "<img" not in theirs.split("</a>")[0] and "无图" in theirs


def test_engine_errors_are_explained(
    console: httpx.Client, workflow: Workflow, settings: Settings
) -> None:
    task = _analysed_task(workflow, settings)
    with workflow.db.write() as session:
        session.execute(
            update(ImageTask)
            .where(ImageTask.task_id == task["task_id"])
            .values(error_message="engine_timeout: vectorize ran over 120 s")
        )
    page = console.get(f"/console/tasks/{task['task_id']}").text
    assert "处理引擎超时" in page and "重新处理" in page
    assert "技术细节" in page  # the engine's words stay available, folded away
