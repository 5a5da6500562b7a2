"""Helpers of the Tianwang API tests (imported by the tests and their conftest)."""

from __future__ import annotations

from typing import Any

import httpx

from ai_cs.core.tasks import TaskStatus
from ai_cs.workflow import Workflow

SHOP_A = "shop_a"
SHOP_B = "shop_b"

# The legal way to each status from pending, so setups respect the transition table.
PATHS: dict[str, list[TaskStatus]] = {
    "pending": [],
    "paid": [TaskStatus.PAID],
    "processing": [TaskStatus.PAID, TaskStatus.PROCESSING],
    "failed": [TaskStatus.PAID, TaskStatus.PROCESSING, TaskStatus.FAILED],
    "with_designer": [TaskStatus.PAID, TaskStatus.PROCESSING, TaskStatus.WITH_DESIGNER],
    "awaiting_confirm": [TaskStatus.PAID, TaskStatus.PROCESSING, TaskStatus.AWAITING_CONFIRM],
    "completed": [
        TaskStatus.PAID,
        TaskStatus.PROCESSING,
        TaskStatus.AWAITING_CONFIRM,
        TaskStatus.COMPLETED,
    ],
    "cancelled": [TaskStatus.CANCELLED],
}


def bearer(key: str) -> dict[str, str]:
    """The Authorization header for ``key``."""
    return {"Authorization": f"Bearer {key}"}


def act(
    client: httpx.Client, headers: dict[str, str], task: dict[str, Any], action: str, **body: Any
) -> httpx.Response:
    """POST ``/api/v1/tasks/{id}/<action>`` for ``task``, with ``body`` as JSON when given."""
    return client.post(
        f"/api/v1/tasks/{task['task_id']}/{action}", json=body or None, headers=headers
    )


def act_ok(
    client: httpx.Client, headers: dict[str, str], task: dict[str, Any], action: str, **body: Any
) -> dict[str, Any]:
    """:func:`act`, which must succeed (200); the task the API returns."""
    response = act(client, headers, task, action, **body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def move_task(workflow: Workflow, task_id: str, status: str) -> None:
    """Walk a pending task to ``status`` along allowed transitions."""
    from ai_cs.tasks.service import transition

    for step in PATHS[status]:
        workflow.db.run_write(lambda s, step=step: transition(s, workflow.clock, task_id, step))


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is ``status`` with the public error shape (and ``code`` when given)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str)
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]
