"""Console helpers that need no server: where a login may lead, form tokens, the timeline."""

from __future__ import annotations

from ai_cs.api.console import csrf_token, safe_next, timeline


def test_after_login_only_console_paths() -> None:
    assert safe_next("/console/tasks/TASK_1") == "/console/tasks/TASK_1"
    for evil in (
        None,
        "",
        "https://evil.example.com/",
        "//evil.example.com/console",
        "/console\\@evil.example.com",
        "/api/v1/tasks",
        "/console/\r\nSet-Cookie: x=1",
    ):
        assert safe_next(evil) == "/console/", evil


def test_csrf_token_depends_on_the_key() -> None:
    assert csrf_token("aics_a_b") == csrf_token("aics_a_b")
    assert csrf_token("aics_a_b") != csrf_token("aics_a_c")
    assert "aics" not in csrf_token("aics_a_b")


def test_timeline_is_newest_first_across_sources() -> None:
    task = {"created_at": "2026-02-27T18:00:00+08:00", "paid_at": "2026-02-27T18:05:00+08:00"}
    history = [
        {
            "changed_at": "2026-02-27T18:01:00+08:00",
            "change_type": "add_note",
            "changed_by": "customer",
            "new_value": "需要去掉背景",
            "old_value": "无",
        }
    ]
    actions = [
        {
            "created_at": "2026-02-27T10:10:00+00:00",  # 18:10 in Shanghai: newest
            "action": "refund",
            "actor": "staff:小王",
            "detail": None,
        }
    ]
    events = timeline(task, history, actions, [])
    assert [e["title"] for e in events] == [
        "标记退款（客服 小王）",
        "客户付款",
        "添加备注（客户）",
        "创建任务",
    ]
