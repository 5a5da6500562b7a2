"""The staff console in headless Chromium: log in, board, task page, staff note, live updates,
conversation takeover and reply."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from PIL import Image, ImageDraw

from ai_cs import datafiles
from ai_cs.config import Settings
from ai_cs.core.tasks import TaskStatus
from ai_cs.tasks.service import transition
from ai_cs.workflow import Workflow

pytestmark = pytest.mark.browser

SVG_RESULT = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80">'
    '<rect width="120" height="80" fill="#1f6feb"/><script>alert(1)</script></svg>'
)


def _picture(settings: Settings, name: str) -> str:
    image = Image.new("RGB", (240, 160), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 30, 200, 130), fill="orange", outline="black", width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return datafiles.put(settings.data_dir, "images", out.getvalue() + name.encode(), "png")


def _natural_width(page: Any, selector: str) -> int:
    page.wait_for_function(
        "s => { const i = document.querySelector(s); return i && i.complete; }", arg=selector
    )
    return int(page.eval_on_selector(selector, "img => img.naturalWidth"))


def _advance(workflow: Workflow, task_id: str, *steps: TaskStatus) -> None:
    for step in steps:
        workflow.db.run_write(lambda s, step=step: transition(s, workflow.clock, task_id, step))


def test_login_board_task_page_and_staff_note(
    page: Any,
    base_url: str,
    login: Callable[[], None],
    workflow: Workflow,
    settings: Settings,
) -> None:
    task = workflow.image_analysis_result(
        "customer_123",
        _picture(settings, "poster.png"),
        "complex",
        "4:3",
        "no",
        customer_name="小明",
        acc_id="shop_a",
        price_fen=6500,
        quote={
            "operation": "enhance",
            "total_fen": 6500,
            "items": [{"label": "文字加价", "amount_fen": 5000}],
        },
        risk={"decision": "review", "reasons": [{"code": "text", "message": "图片含大量文字"}]},
    )
    workflow.add_customer_requirement_sync(task["task_id"], "customer_123", "需要去掉背景")

    login()
    card = page.locator(f'[data-status="pending"] [data-task-id="{task["task_id"]}"]')
    assert card.count() == 1
    assert "小明" in card.inner_text()

    # The key lives in an HttpOnly cookie: the page's scripts cannot read it.
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["aics_console"]["httpOnly"] is True
    assert "aics_console" not in page.evaluate("document.cookie")

    card.click()
    page.wait_for_url(f"**/console/tasks/{task['task_id']}")
    assert _natural_width(page, 'img[alt="客户原图"]') == 240
    body = page.inner_text("main")
    assert "¥65.00" in body and "图片含大量文字" in body and "需要去掉背景" in body
    assert "复杂度" in body and "复杂" in body and "complex" not in body  # the analysis, in Chinese

    page.fill("#requirement", "客户电话说要保留阴影")
    page.click("#note-form button[type=submit]")
    page.wait_for_selector(".flash.ok")
    assert "备注已添加" in page.inner_text(".flash.ok")
    timeline = page.inner_text("#timeline")
    assert "添加备注（客服）" in timeline and "客户电话说要保留阴影" in timeline
    assert timeline.index("客户电话说要保留阴影") < timeline.index("需要去掉背景")  # newest first

    history = workflow.get_task_requirement_history(task["task_id"])
    assert (history[0]["new_value"], history[0]["changed_by"]) == ("客户电话说要保留阴影", "staff")


def test_result_side_by_side_and_confirm(
    page: Any,
    login: Callable[[], None],
    base_url: str,
    workflow: Workflow,
    settings: Settings,
) -> None:
    task = workflow.create_image_task(
        "customer_123", _picture(settings, "logo.png"), "vectorize", acc_id="shop_a"
    )
    _advance(workflow, task["task_id"], TaskStatus.PAID, TaskStatus.PROCESSING)
    result = settings.data_dir / "results" / "cd" / ("c" * 64 + ".svg")
    result.parent.mkdir(parents=True, exist_ok=True)
    result.write_text(SVG_RESULT)
    workflow.db.run_write(
        lambda s: transition(
            s,
            workflow.clock,
            task["task_id"],
            TaskStatus.AWAITING_CONFIRM,
            result_image=f"results/cd/{'c' * 64}.svg",
        )
    )
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))

    login()
    page.goto(f"{base_url}/console/tasks/{task['task_id']}")
    assert _natural_width(page, 'img[alt="客户原图"]') == 240
    assert _natural_width(page, 'img[alt="处理结果"]') == 120
    assert dialogs == []  # the SVG's script never ran
    page.click('form[action$="/actions/confirm"] button')
    page.wait_for_selector(".flash.ok")
    assert dialogs == ["确定要确认完成吗？"]
    assert page.inner_text("#task-status") == "已完成"
    assert workflow.get_task(task["task_id"])["status"] == "completed"


def test_board_updates_live(page: Any, login: Callable[[], None], workflow: Workflow) -> None:
    first = workflow.create_image_task("customer_1", "https://xxx.com/a.jpg", "enhance")
    login()
    url = page.url
    newcomer = workflow.create_image_task("customer_2", "https://xxx.com/b.jpg", "remove_bg")
    page.wait_for_selector(f'[data-status="pending"] [data-task-id="{newcomer["task_id"]}"]')
    _advance(workflow, first["task_id"], TaskStatus.PAID)
    page.wait_for_selector(f'[data-status="paid"] [data-task-id="{first["task_id"]}"]')
    assert page.url == url  # no reload: the board polled
    assert "实时更新中" in page.inner_text("#live-status")


def test_conversation_takeover_and_reply(
    page: Any, login: Callable[[], None], base_url: str, workflow: Workflow, app: FastAPI
) -> None:
    if not app.state.console_conversations:
        pytest.skip("the conversations domain is not installed")
    from ai_cs.conversations import service as conversations
    from factories import customer_says, open_chat

    with workflow.db.write() as session:
        open_chat(session, workflow.clock, "conv_001", "customer_123", nick="小明")
        customer_says(session, workflow.clock, "conv_001", "你好，这张图能去背景吗？")
    login()
    page.click('nav a[href="/console/conversations"]')
    page.click('a[href="/console/conversations/conv_001"]')
    assert "你好，这张图能去背景吗？" in page.inner_text("#messages")
    assert page.inner_text("#takeover-state") == "AI 回复中"

    page.click("#takeover-form button[type=submit]")
    page.wait_for_selector(".flash.ok")
    assert "人工接管中" in page.inner_text("#takeover-state")

    page.fill("#reply-text", "可以的，稍等五分钟")
    page.press("#reply-text", "Control+Enter")  # sends, as in a chat tool
    page.wait_for_selector(".message.role-staff")
    assert "可以的，稍等五分钟" in page.inner_text(".message.role-staff")

    with workflow.db.read() as session:
        row = conversations.get_conversation_row(session, "conv_001")
        assert conversations.is_paused(row, workflow.clock)
        messages, _ = conversations.list_messages(session, "conv_001")
    assert [(m["role"], m["text"], m["author"]) for m in messages][-1] == (
        "staff",
        "可以的，稍等五分钟",
        "客服小王",
    )

    page.click("#handback-form button[type=submit]")
    page.wait_for_selector(".flash.ok")
    assert page.inner_text("#takeover-state") == "AI 回复中"
