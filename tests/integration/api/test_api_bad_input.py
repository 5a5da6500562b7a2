"""Whatever a client sends, the answer is a 4xx in the error shape, never a 500."""

from __future__ import annotations

import random
import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from api_helpers import assert_error, bearer

from ai_cs.api.server import ThreadedServer
from ai_cs.workflow import Workflow

MakeTask = Callable[..., dict[str, Any]]
THIRTY_MB = 30 * 1024 * 1024


@pytest.fixture
def staff(keys: dict[str, str]) -> dict[str, str]:
    return bearer(keys["staff"])


def _unchanged(workflow: Workflow, task: dict[str, Any]) -> None:
    now = workflow.get_task(task["task_id"])
    assert now["customer_notes"] == task["customer_notes"]
    assert now["operation"] == task["operation"]
    assert now["status"] == task["status"]
    assert workflow.get_task_requirement_history(task["task_id"]) == []


BAD_JSON = (
    (b"{bad json", "application/json"),
    (b'{"requirement": "x"', "application/json"),
    (b"\xff\xfe\x00garbage", "application/json"),
    (b"[" * 50_000 + b"]" * 50_000, "application/json"),
    (b"null", "application/json"),
    (b'"just a string"', "application/json"),
    (b"[]", "application/json"),
    (b'{"requirement": "x"}', "text/plain"),
    (b"requirement=x", "application/x-www-form-urlencoded"),
    (b"", "application/json"),
)


def test_bad_json_is_a_4xx(
    client: httpx.Client, staff: dict[str, str], make_task: MakeTask, workflow: Workflow
) -> None:
    task = make_task()
    for body, content_type in BAD_JSON:
        response = client.post(
            f"/api/v1/tasks/{task['task_id']}/requirements",
            content=body,
            headers={**staff, "Content-Type": content_type},
        )
        assert 400 <= response.status_code < 500, (body[:40], response.status_code)
        assert_error(response, response.status_code)
    _unchanged(workflow, task)


WRONG_BODIES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("requirements", {"requirement": 123}),
    ("requirements", {"requirement": None}),
    ("requirements", {"requirement": ["需要", "去掉背景"]}),
    ("requirements", {"requirement": {"text": "x"}}),
    ("requirements", {"requirement": "x", "changed_by": "customer"}),
    ("requirements", {}),
    ("requirements", {"requirement": "   "}),
    ("requirements", {"requirement": "长" * 5000}),
    ("requirements", {"requirement": "\x00\x01\x02"}),
    ("operation", {"operation": 5}),
    ("operation", {"operation": "paint_it_blue"}),
    ("operation", {"operation": True}),
    ("hand-to-designer", {"reason": 1.5}),
    ("cancel", {"reason": 7}),
    ("refund", {"reason": "x" * 10_000}),
)

# Text no database can store: lone surrogates (not UTF-8) and NUL bytes (PostgreSQL).
UNSTORABLE: tuple[tuple[str, bytes], ...] = (
    ("requirements", b'{"requirement": "\\ud800"}'),
    ("requirements", rb'{"requirement": "\u9700\u8981\udfff"}'),
    ("requirements", rb'{"requirement": "\u0000"}'),
    ("operation", rb'{"operation": "vectorize\ud800"}'),
    ("hand-to-designer", rb'{"reason": "\u0000"}'),
    ("hand-to-designer", rb'{"reason": "\ud83d"}'),
    ("cancel", rb'{"reason": "\ud800"}'),
    ("refund", rb'{"reason": "ok\u0000"}'),
)


def test_wrong_types_and_values_are_422(
    client: httpx.Client, staff: dict[str, str], make_task: MakeTask, workflow: Workflow
) -> None:
    task = make_task()
    for path, body in WRONG_BODIES:
        response = client.post(f"/api/v1/tasks/{task['task_id']}/{path}", json=body, headers=staff)
        assert response.status_code == 422, (path, body, response.text)
        assert_error(response, 422)
    for path, raw in UNSTORABLE:
        response = client.post(
            f"/api/v1/tasks/{task['task_id']}/{path}",
            content=raw,
            headers={**staff, "Content-Type": "application/json"},
        )
        assert response.status_code == 422, (path, raw, response.text)
        assert_error(response, 422)
    _unchanged(workflow, task)


def test_a_30_mb_body_is_413(
    client: httpx.Client, staff: dict[str, str], make_task: MakeTask, workflow: Workflow
) -> None:
    task = make_task()
    body = b'{"requirement": "' + b"x" * THIRTY_MB + b'"}'
    for content_type in ("application/json", "application/octet-stream", None):
        headers = dict(staff)
        if content_type:
            headers["Content-Type"] = content_type
        response = client.post(
            f"/api/v1/tasks/{task['task_id']}/requirements", content=body, headers=headers
        )
        assert_error(response, 413, "payload_too_large")
    _unchanged(workflow, task)
    assert client.get("/healthz").status_code == 200  # and the server is fine


def test_a_30_mb_chunked_body_is_cut_off_while_reading(
    client: httpx.Client, staff: dict[str, str], make_task: MakeTask, workflow: Workflow
) -> None:
    task = make_task()
    sent = 0

    def chunks() -> Any:
        nonlocal sent
        for _ in range(30):
            sent += 1
            yield b"x" * (1024 * 1024)

    response = client.post(
        f"/api/v1/tasks/{task['task_id']}/requirements",
        content=chunks(),
        headers={**staff, "Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers  # really chunked
    assert_error(response, 413, "payload_too_large")
    _unchanged(workflow, task)


def test_a_huge_declared_length_is_refused_before_the_body(
    server: ThreadedServer, keys: dict[str, str], make_task: MakeTask
) -> None:
    task = make_task()
    request = (
        f"POST /api/v1/tasks/{task['task_id']}/requirements HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nAuthorization: Bearer {keys['staff']}\r\n"
        "Content-Type: application/octet-stream\r\nContent-Length: 10000000000\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)  # and no body at all: the answer must not wait for it
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert b'"payload_too_large"' in body


JUNK_PATHS = (
    "/api/v1/tasks/TASK_20990101_001",
    "/api/v1/tasks/%00",
    "/api/v1/tasks/%E2%80%AE%F0%9F%92%A5",
    "/api/v1/tasks/" + "A" * 300,
    "/api/v1/tasks/..%2F..%2Fetc%2Fpasswd/result",
    "/api/v1/tasks/../../etc/passwd",
    "/api/v1/tasks/TASK_1/original/../../../etc/passwd",
    "/api/v1/tasks/%2e%2e/history",
    "/api/v1/tasks/TASK_%25_1/history",
    "/api/v1/tasks?status=%F0%9F%92%A5",
    "/api/v1/tasks?status=pending%00",
    "/api/v1/tasks?limit=abc",
    "/api/v1/tasks?limit=-1",
    "/api/v1/tasks?limit=100000",
    "/api/v1/tasks?offset=1e99",
    "/api/v1/tasks?customer_id=%00",
    "/api/v1/tasks?q=" + "x" * 500,
    "/api/v1/nothing-here",
    "/api/v2/tasks",
)


def test_unknown_ids_traversal_and_junk_are_4xx(
    client: httpx.Client, staff: dict[str, str]
) -> None:
    for path in JUNK_PATHS:
        response = client.get(path, headers=staff)
        assert 400 <= response.status_code < 500, (path, response.status_code)
        assert_error(response, response.status_code)


def test_wrong_method_is_405_in_the_error_shape(
    client: httpx.Client, staff: dict[str, str], make_task: MakeTask
) -> None:
    task = make_task()
    assert_error(client.delete(f"/api/v1/tasks/{task['task_id']}", headers=staff), 405)
    assert_error(client.get(f"/api/v1/tasks/{task['task_id']}/confirm", headers=staff), 405)


def test_random_bytes_never_make_a_500(
    client: httpx.Client, staff: dict[str, str], make_task: MakeTask, workflow: Workflow
) -> None:
    task = make_task()
    rng = random.Random(7)
    routes = [
        "requirements",
        "operation",
        "hand-to-designer",
        "confirm",
        "cancel",
        "refund",
        "retry",
    ]
    alphabet = [
        "{",
        "}",
        '"',
        ":",
        ",",
        "[",
        "]",
        "requirement",
        "operation",
        "reason",
        "\\u0000",
        "\\ud800",
        "1e999",
        "-0",
        "null",
        "true",
        "需要",
        "💥",
        " ",
        "\n",
    ]
    for i in range(150):
        if i % 2:
            body = rng.randbytes(rng.randint(0, 300))
        else:
            body = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))).encode()
        route = routes[i % len(routes)]
        response = client.post(
            f"/api/v1/tasks/{task['task_id']}/{route}",
            content=body,
            headers={**staff, "Content-Type": "application/json"},
        )
        assert response.status_code < 500, (route, body, response.text)
        if response.status_code >= 400:
            assert_error(response, response.status_code)
