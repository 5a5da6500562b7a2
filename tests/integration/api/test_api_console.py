"""The staff console over HTTP: login with a staff key, HttpOnly cookie, CSRF, pages, actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from ai_cs.api.server import ThreadedServer
from ai_cs.workflow import Workflow
from factories import csrf_of

MakeTask = Callable[..., dict[str, Any]]


def test_login_sets_an_httponly_lax_cookie(server: ThreadedServer, keys: dict[str, str]) -> None:
    with httpx.Client(base_url=server.url) as http:
        response = http.post("/console/login", data={"key": keys["staff"]})
    assert response.status_code == 303 and response.headers["location"] == "/console/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("aics_console=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
    assert keys["staff"] not in cookie  # a session id, never the key


def test_only_staff_keys_log_in(server: ThreadedServer, keys: dict[str, str]) -> None:
    wrong = {"nobody": "aics_0123456789ab_" + "x" * 43, "junk": "aics_\x00_x"}
    for who, status in (("designer", 403), ("partner", 403), ("nobody", 401), ("junk", 401)):
        with httpx.Client(base_url=server.url) as http:
            response = http.post("/console/login", data={"key": keys.get(who) or wrong[who]})
            assert response.status_code == status, who
            assert "set-cookie" not in response.headers
            assert "客服登录" in response.text
            board = http.get("/console/")
        assert board.status_code == 303
        assert board.headers["location"].startswith("/console/login")


def test_login_never_redirects_off_the_console(
    server: ThreadedServer, keys: dict[str, str]
) -> None:
    with httpx.Client(base_url=server.url) as http:
        for target in ("//evil.example.com/", "https://evil.example.com/", "/api/v1/tasks"):
            response = http.post("/console/login", data={"key": keys["staff"], "next": target})
            assert response.headers["location"] == "/console/", target


def test_board_and_task_page(
    console: httpx.Client, make_task: MakeTask, workflow: Workflow
) -> None:
    task = make_task(price_fen=6500)
    waiting = make_task("awaiting_confirm")
    workflow.add_customer_requirement_sync(task["task_id"], "customer_123", "需要去掉背景")
    board = console.get("/console/board")
    assert board.status_code == 200
    assert "script-src 'self'" in board.headers["content-security-policy"]
    assert board.headers["x-frame-options"] == "DENY"
    assert task["task_id"] in board.text and waiting["task_id"] in board.text
    assert "待付款" in board.text and "待确认" in board.text
    fragment = console.get("/console/board/fragment")
    assert fragment.status_code == 200 and task["task_id"] in fragment.text
    assert "<html" not in fragment.text
    page = console.get(f"/console/tasks/{task['task_id']}")
    assert page.status_code == 200
    assert "需要去掉背景" in page.text and "¥65.00" in page.text
    assert f"/console/tasks/{task['task_id']}/original" in page.text
    assert console.get("/console/tasks/TASK_20990101_001").status_code == 404
    found = console.get("/console/search", params={"q": "去掉背景"})
    assert task["task_id"] in found.text and waiting["task_id"] not in found.text
    assert console.get("/console/dispatch").status_code == 200


def test_staff_note_needs_the_form_token(
    console: httpx.Client, make_task: MakeTask, workflow: Workflow
) -> None:
    task = make_task()
    page = f"/console/tasks/{task['task_id']}"
    forged = console.post(f"{page}/note", data={"requirement": "伪造的备注", "csrf": "0" * 40})
    assert forged.status_code == 303 and forged.headers["location"].endswith("err=csrf")
    assert workflow.get_task_requirement_history(task["task_id"]) == []

    token = csrf_of(console.get(page).text)
    done = console.post(f"{page}/note", data={"requirement": "保留阴影", "csrf": token})
    assert done.status_code == 303 and done.headers["location"].endswith("ok=note_added")
    history = workflow.get_task_requirement_history(task["task_id"])
    assert [(h["new_value"], h["changed_by"]) for h in history] == [("保留阴影", "staff")]
    shown = console.get(done.headers["location"])
    assert "备注已添加" in shown.text and "保留阴影" in shown.text


def test_console_actions_follow_the_rules(
    console: httpx.Client, make_task: MakeTask, workflow: Workflow
) -> None:
    paid = make_task("paid")
    page = f"/console/tasks/{paid['task_id']}"
    token = csrf_of(console.get(page).text)
    locked = console.post(f"{page}/note", data={"requirement": "晚了", "csrf": token})
    assert locked.headers["location"].endswith("err=requirements_locked_after_payment")
    assert "任务已付款" in console.get(locked.headers["location"]).text
    cancel = console.post(f"{page}/actions/cancel", data={"csrf": token})
    assert cancel.headers["location"].endswith("err=invalid_transition")
    handed = console.post(
        f"{page}/actions/hand_to_designer", data={"csrf": token, "reason": "客户要手工"}
    )
    assert handed.headers["location"].endswith("ok=hand_to_designer")
    assert workflow.get_task(paid["task_id"])["status"] == "with_designer"
    unknown = console.post(f"{page}/actions/delete_everything", data={"csrf": token})
    assert unknown.headers["location"].endswith("err=unknown_action")
    dispatch = console.get("/console/dispatch")
    assert paid["task_id"] in dispatch.text and "客户要手工" in dispatch.text


def test_logout_forgets_the_login(console: httpx.Client) -> None:
    assert console.get("/console/").status_code == 200
    out = console.post("/console/logout")
    assert out.status_code == 303
    assert console.get("/console/").status_code == 303
    assert console.get("/console/board/fragment").status_code == 401
