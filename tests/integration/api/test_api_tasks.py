"""Tasks through the API: lists with filters and paging, detail, history, staff actions."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from api_helpers import SHOP_B, act, act_ok, assert_error, bearer
from sqlalchemy import select

from ai_cs.db.models import Job, OutboxMessage
from ai_cs.tasks.models import StaffAction
from ai_cs.workflow import Workflow

MakeTask = Callable[..., dict[str, Any]]


@pytest.fixture
def staff(keys: dict[str, str]) -> dict[str, str]:
    return bearer(keys["staff"])


def assert_refused(
    client: httpx.Client,
    staff: dict[str, str],
    workflow: Workflow,
    task: dict[str, Any],
    action: str,
) -> None:
    """``action`` from the task's status is a 409 ``invalid_transition`` and changes nothing."""
    assert_error(act(client, staff, task, action), 409, "invalid_transition")
    assert workflow.get_task(task["task_id"]) == task


def test_list_filters_paging_and_total_count(
    client: httpx.Client, staff: dict[str, str], make_task: MakeTask
) -> None:
    pending = [make_task()["task_id"] for _ in range(5)]
    paid = make_task("paid", customer_id="customer_456")["task_id"]
    other_shop = make_task(acc_id=SHOP_B, customer_id="customer_456")["task_id"]

    everything = client.get("/api/v1/tasks", headers=staff).json()
    assert everything["count"] == 7
    page = client.get(
        "/api/v1/tasks", params={"status": "pending", "limit": 2, "offset": 1}, headers=staff
    ).json()
    assert page["count"] == 6  # total matching, not the page size
    assert len(page["data"]) == 2
    newest_first = sorted([*pending, other_shop], reverse=True)
    assert [t["task_id"] for t in page["data"]] == newest_first[1:3]

    by_customer = client.get(
        "/api/v1/tasks", params={"customer_id": "customer_456"}, headers=staff
    ).json()
    assert by_customer["count"] == 2
    by_both = client.get(
        "/api/v1/tasks",
        params={"customer_id": "customer_456", "status": "paid"},
        headers=staff,
    ).json()
    assert [t["task_id"] for t in by_both["data"]] == [paid]
    by_shop = client.get("/api/v1/tasks", params={"acc_id": SHOP_B}, headers=staff).json()
    assert by_shop["count"] == 1 and by_shop["data"][0]["acc_id"] == SHOP_B
    assert_error(
        client.get("/api/v1/tasks", params={"status": "lost"}, headers=staff), 422, "unknown_status"
    )


def test_search_finds_notes(
    client: httpx.Client, staff: dict[str, str], make_task: MakeTask, workflow: Workflow
) -> None:
    task = make_task()
    make_task()
    workflow.add_customer_requirement_sync(task["task_id"], "customer_123", "要100%还原_原图")
    found = client.get("/api/v1/tasks", params={"q": "100%还原_"}, headers=staff).json()
    assert [t["task_id"] for t in found["data"]] == [task["task_id"]]
    # LIKE wildcards in the search text are literal.
    assert client.get("/api/v1/tasks", params={"q": "%"}, headers=staff).json()["count"] == 1


def test_detail_has_analysis_quote_risk_and_results(
    client: httpx.Client, staff: dict[str, str], workflow: Workflow
) -> None:
    quote = {
        "operation": "enhance",
        "total_fen": 6500,
        "items": [{"code": "text", "amount_fen": 5000}],
    }
    risk = {"decision": "review", "reasons": [{"code": "id_card", "message": "疑似证件"}]}
    task = workflow.image_analysis_result(
        "customer_123",
        "https://xxx.com/image.jpg",
        "normal",
        "1:1",
        "no",
        price_fen=6500,
        quote=quote,
        risk=risk,
        acc_id="shop_a",
    )
    detail = client.get(f"/api/v1/tasks/{task['task_id']}", headers=staff).json()
    assert detail["requirements"] == {
        "complexity": "normal",
        "aspect_ratio": "1:1",
        "perspective": "no",
    }
    assert detail["quote"] == quote
    assert detail["risk"] == risk
    assert detail["results"] == []
    assert detail["original_url"] == f"/api/v1/tasks/{task['task_id']}/original"
    assert detail["allowed_actions"] == ["cancel"]
    assert_error(
        client.get("/api/v1/tasks/TASK_20990101_001", headers=staff), 404, "task_not_found"
    )


def test_staff_requirement_is_recorded_as_staff_newest_first(
    client: httpx.Client, staff: dict[str, str], make_task: MakeTask, workflow: Workflow
) -> None:
    task = make_task()
    workflow.add_customer_requirement_sync(task["task_id"], "customer_123", "需要去掉背景")
    noted = act_ok(client, staff, task, "requirements", requirement="客户电话里说要保留阴影")
    notes = noted["customer_notes"].splitlines()
    assert notes[-1].endswith("] 客户电话里说要保留阴影")
    history = client.get(f"/api/v1/tasks/{task['task_id']}/history", headers=staff).json()
    assert history["count"] == 2
    assert [(h["new_value"], h["changed_by"]) for h in history["data"]] == [
        ("客户电话里说要保留阴影", "staff"),
        ("需要去掉背景", "customer"),
    ]


def test_operation_change_is_locked_after_payment(
    client: httpx.Client, staff: dict[str, str], make_task: MakeTask, workflow: Workflow
) -> None:
    task = make_task()
    changed = act_ok(client, staff, task, "operation", operation="vectorize")
    assert changed["operation"] == "vectorize"
    workflow.trigger_processing_on_payment("customer_123", task_id=task["task_id"], payment_id="P1")
    locked = act(client, staff, task, "operation", operation="remove_bg")
    assert_error(locked, 409, "operation_locked_after_payment")
    note = act(client, staff, task, "requirements", requirement="晚了")
    assert_error(note, 409, "requirements_locked_after_payment")
    after = workflow.get_task(task["task_id"])
    assert after["operation"] == "vectorize" and after["status"] == "processing"
    assert [h["change_type"] for h in workflow.get_task_requirement_history(task["task_id"])] == [
        "modify_operation"
    ]


def test_confirm_moves_awaiting_confirm_to_completed(
    client: httpx.Client, staff: dict[str, str], make_task: MakeTask, workflow: Workflow
) -> None:
    waiting = make_task("awaiting_confirm")
    done = act_ok(client, staff, waiting, "confirm")
    assert done["status"] == "completed" and done["completed_at"]
    again = act(client, staff, waiting, "confirm")
    assert_error(again, 409)
    assert_refused(client, staff, workflow, make_task(), "confirm")


def test_hand_to_designer_writes_the_dispatch_request(
    client: httpx.Client, staff: dict[str, str], make_task: MakeTask, workflow: Workflow
) -> None:
    task = make_task("processing")
    handed = act_ok(client, staff, task, "hand-to-designer", reason="客户要求手工精修")
    assert handed["status"] == "with_designer"
    assert handed["designer_reason"] == "客户要求手工精修"
    with workflow.db.read() as session:
        rows = list(session.execute(select(OutboxMessage)).scalars())
        actions = list(session.execute(select(StaffAction)).scalars())
    assert len(rows) == 1 and rows[0].topic == "dispatch"
    payload = json.loads(rows[0].payload)
    assert payload["task_id"] == task["task_id"] and payload["reason"] == "客户要求手工精修"
    assert [(a.action, a.from_status, a.to_status, a.actor) for a in actions] == [
        ("hand_to_designer", "processing", "with_designer", "staff:客服小王")
    ]
    detail = client.get(f"/api/v1/tasks/{task['task_id']}", headers=staff).json()
    assert detail["dispatch"][0]["reason"] == "客户要求手工精修"
    assert detail["staff_actions"][0]["action"] == "hand_to_designer"
    blank = act(client, staff, make_task("failed"), "hand-to-designer", reason="   ")
    assert_error(blank, 422, "invalid_argument")


def test_retry_requeues_a_failed_task(
    client: httpx.Client, staff: dict[str, str], make_task: MakeTask, workflow: Workflow
) -> None:
    task = make_task("failed")
    retried = act_ok(client, staff, task, "retry")
    assert retried["status"] == "processing"
    assert retried["retry_count"] == 1
    with workflow.db.read() as session:
        jobs = list(session.execute(select(Job).where(Job.task_id == task["task_id"])).scalars())
    assert [(j.kind, j.status) for j in jobs] == [("process_task", "queued")]
    # processing is not failed: a second retry is refused and enqueues nothing
    assert_error(act(client, staff, task, "retry"), 409)
    with workflow.db.read() as session:
        assert len(list(session.execute(select(Job)).scalars())) == 1


def test_cancel_only_before_payment(
    client: httpx.Client, staff: dict[str, str], make_task: MakeTask, workflow: Workflow
) -> None:
    with_reason = act_ok(client, staff, make_task(), "cancel", reason="客户不要了")
    without_body = act_ok(client, staff, make_task(), "cancel")
    assert with_reason["status"] == without_body["status"] == "cancelled"
    assert_refused(client, staff, workflow, make_task("paid"), "cancel")


def test_refund_from_every_paid_status_only(
    client: httpx.Client, staff: dict[str, str], make_task: MakeTask, workflow: Workflow
) -> None:
    for status in ("paid", "processing", "failed", "with_designer", "awaiting_confirm"):
        task = make_task(status)
        response = act(client, staff, task, "refund")
        assert response.status_code == 200, (status, response.text)
        assert response.json()["status"] == "refunded"
    for status in ("pending", "completed", "cancelled"):
        assert_refused(client, staff, workflow, make_task(status), "refund")


def test_racing_refunds_only_one_wins(
    server: Any, staff: dict[str, str], make_task: MakeTask, workflow: Workflow
) -> None:
    task = make_task("awaiting_confirm")
    results: list[int] = []
    barrier = threading.Barrier(6)

    def go() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            barrier.wait()
            results.append(
                http.post(f"/api/v1/tasks/{task['task_id']}/refund", headers=staff).status_code
            )

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] + [409] * 5
    with workflow.db.read() as session:
        refunds = session.execute(select(StaffAction).where(StaffAction.action == "refund")).all()
    assert len(refunds) == 1
