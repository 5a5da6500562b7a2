"""Who may call what: 401 without a valid key, 403 without the scope, 404 for another shop."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
from api_helpers import SHOP_B, assert_error, bearer
from fastapi import FastAPI

from ai_cs.auth.keycache import KEY_CACHE_SECONDS, KeyCache
from ai_cs.auth.service import revoke_key
from ai_cs.workflow import Workflow

MakeTask = Callable[..., dict[str, Any]]
SIGNED_NOT_BEARER = {"/api/v1/dispatch/callback"}  # HMAC-signed by the dispatch service

# A body each task route would accept, so only the key decides the answer.
BODIES: dict[str, dict[str, Any]] = {
    "requirements": {"requirement": "需要去掉背景"},
    "operation": {"operation": "vectorize"},
    "hand-to-designer": {"reason": "客户要求手工精修"},
}

PARTNER_ROUTES = {
    ("get", "/api/v1/tasks/{task_id}"),
    ("get", "/api/v1/tasks/{task_id}/history"),
    ("get", "/api/v1/tasks/{task_id}/original"),
    ("get", "/api/v1/tasks/{task_id}/result"),
    ("post", "/api/v1/tasks/{task_id}/requirements"),
    ("post", "/api/v1/tasks/{task_id}/operation"),
    ("post", "/api/v1/tasks/{task_id}/confirm"),
    ("post", "/api/v1/tasks/{task_id}/hand-to-designer"),
}
STAFF_ONLY_ROUTES = {
    ("post", "/api/v1/tasks/{task_id}/retry"),
    ("post", "/api/v1/tasks/{task_id}/cancel"),
    ("post", "/api/v1/tasks/{task_id}/refund"),
}


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every ``(method, path)`` under ``/api/v1`` the app documents."""
    routes = []
    for path, item in app.openapi()["paths"].items():
        if not path.startswith("/api/v1/") or path in SIGNED_NOT_BEARER:
            continue
        routes.extend(
            (method, path) for method in item if method in ("get", "post", "put", "patch", "delete")
        )
    return sorted(routes)


def call(
    client: httpx.Client, method: str, path: str, task_id: str, headers: dict[str, str]
) -> httpx.Response:
    url = re.sub(r"\{task_id\}", task_id, path)
    url = re.sub(r"\{[a-z_]+\}", "x1", url)  # other domains' ids: any well-formed value
    body = BODIES.get(path.rsplit("/", 1)[-1])
    if method == "get":
        return client.get(url, headers=headers)
    return client.request(method.upper(), url, headers=headers, json=body if body else {})


def test_task_routes_are_all_covered(app: FastAPI) -> None:
    mine = {r for r in api_routes(app) if r[1].startswith("/api/v1/tasks")}
    assert mine == PARTNER_ROUTES | STAFF_ONLY_ROUTES | {("get", "/api/v1/tasks")}


NO_GOOD_KEY: tuple[dict[str, str], ...] = (
    {},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer aics_0123456789ab_unknownsecret"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Bearer not-even-close"},
    {"Authorization": "bearer aics_x_y"},
)


def test_every_api_route_needs_a_key(
    app: FastAPI, client: httpx.Client, make_task: MakeTask
) -> None:
    task = make_task()
    routes = api_routes(app)
    assert len(routes) >= 12
    for headers in NO_GOOD_KEY:
        for method, path in routes:
            response = call(client, method, path, task["task_id"], headers)
            error = assert_error(response, 401)
            assert error["code"] == "unauthorized", (method, path, headers)
            assert response.headers["www-authenticate"] == "Bearer"


def test_revoked_and_forged_secrets_are_refused(
    app: FastAPI, client: httpx.Client, keys: dict[str, str], workflow: Workflow
) -> None:
    now = [1000.0]
    app.state.key_cache = KeyCache(monotonic=lambda: now[0])
    good = keys["staff"]
    assert client.get("/api/v1/tasks", headers=bearer(good)).status_code == 200
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    assert_error(client.get("/api/v1/tasks", headers=bearer(forged)), 401, "unauthorized")
    key_id = good.split("_")[1]
    with workflow.db.write() as session:
        revoke_key(session, workflow.clock, key_id)
    # A key accepted moments ago is trusted for KEY_CACHE_SECONDS (revocation is honoured
    # within that bound), then read again and refused.
    assert client.get("/api/v1/tasks", headers=bearer(good)).status_code == 200
    now[0] += KEY_CACHE_SECONDS
    assert_error(client.get("/api/v1/tasks", headers=bearer(good)), 401, "unauthorized")
    assert_error(client.get("/api/v1/tasks", headers=bearer(good)), 401, "unauthorized")


def test_a_key_is_read_once_per_cache_period_and_never_kept_when_refused(
    app: FastAPI, client: httpx.Client, keys: dict[str, str], monkeypatch: Any
) -> None:
    import ai_cs.web.deps as deps

    reads: list[str | None] = []
    real = deps.authenticate_key

    def counting(db: Any, clock: Any, token: str | None) -> Any:
        reads.append(token)
        return real(db, clock, token)

    monkeypatch.setattr(deps, "authenticate_key", counting)
    now = [1000.0]
    app.state.key_cache = KeyCache(monotonic=lambda: now[0])
    staff = keys["staff"]
    for _ in range(5):
        assert client.get("/api/v1/tasks", headers=bearer(staff)).status_code == 200
    assert reads == [staff]
    now[0] += KEY_CACHE_SECONDS
    assert client.get("/api/v1/tasks", headers=bearer(staff)).status_code == 200
    assert reads == [staff, staff]
    # The scope is still checked on every request, cached or not.
    for _ in range(2):
        assert_error(
            client.get("/api/v1/tasks", headers=bearer(keys["designer"])), 403, "forbidden"
        )
    assert reads[-1] == keys["designer"]
    bad = staff[:-4] + ("AAAA" if not staff.endswith("AAAA") else "BBBB")
    for _ in range(2):
        assert_error(client.get("/api/v1/tasks", headers=bearer(bad)), 401, "unauthorized")
    assert reads[-2:] == [bad, bad]


def test_designer_key_is_forbidden_on_task_routes(
    app: FastAPI,
    client: httpx.Client,
    keys: dict[str, str],
    make_task: Callable[..., dict[str, Any]],
) -> None:
    task = make_task()
    for method, path in api_routes(app):
        if not path.startswith("/api/v1/tasks"):
            continue
        response = call(client, method, path, task["task_id"], bearer(keys["designer"]))
        assert_error(response, 403, "forbidden")
    # and nothing changed
    assert (
        client.get(
            f"/api/v1/tasks/{task['task_id']}/history", headers=bearer(keys["staff"])
        ).json()["count"]
        == 0
    )


def test_partner_key_cannot_take_staff_decisions(
    client: httpx.Client, keys: dict[str, str], make_task: Callable[..., dict[str, Any]]
) -> None:
    task = make_task("failed")
    for method, path in sorted(STAFF_ONLY_ROUTES):
        response = call(client, method, path, task["task_id"], bearer(keys["partner"]))
        assert_error(response, 403, "forbidden")
    staff_view = client.get(f"/api/v1/tasks/{task['task_id']}", headers=bearer(keys["staff"]))
    assert staff_view.json()["status"] == "failed"


def test_partner_key_gets_404_for_another_shops_task(
    client: httpx.Client, keys: dict[str, str], make_task: Callable[..., dict[str, Any]]
) -> None:
    theirs = make_task(acc_id=SHOP_B, customer_id="customer_b")
    missing = "TASK_20990101_999"
    for method, path in sorted(PARTNER_ROUTES):
        other = call(client, method, path, theirs["task_id"], bearer(keys["partner"]))
        absent = call(client, method, path, missing, bearer(keys["partner"]))
        assert_error(other, 404, "task_not_found")
        assert_error(absent, 404, "task_not_found")
        # The answer for another shop's task tells nothing more than for a missing one.
        assert other.json()["error"]["message"].replace(theirs["task_id"], "ID") == absent.json()[
            "error"
        ]["message"].replace(missing, "ID")
    staff_view = client.get(f"/api/v1/tasks/{theirs['task_id']}", headers=bearer(keys["staff"]))
    assert staff_view.status_code == 200
    assert staff_view.json()["customer_notes"] is None


def test_partner_key_sees_only_its_shops_in_lists(
    client: httpx.Client, keys: dict[str, str], make_task: Callable[..., dict[str, Any]]
) -> None:
    ours = [make_task()["task_id"] for _ in range(2)]
    make_task(acc_id=SHOP_B, customer_id="customer_b")
    listed = client.get("/api/v1/tasks", headers=bearer(keys["partner"])).json()
    assert listed["count"] == 2
    assert sorted(t["task_id"] for t in listed["data"]) == sorted(ours)
    asked_for_b = client.get(
        "/api/v1/tasks", params={"acc_id": SHOP_B}, headers=bearer(keys["partner"])
    ).json()
    assert asked_for_b == {"data": [], "count": 0}
    assert client.get("/api/v1/tasks", headers=bearer(keys["staff"])).json()["count"] == 3


def test_partner_key_acts_on_its_own_shop(
    client: httpx.Client, keys: dict[str, str], make_task: Callable[..., dict[str, Any]]
) -> None:
    task = make_task()
    response = client.post(
        f"/api/v1/tasks/{task['task_id']}/requirements",
        json={"requirement": "尺寸 30x40"},
        headers=bearer(keys["partner"]),
    )
    assert response.status_code == 200, response.text
    assert response.json()["customer_notes"].endswith("尺寸 30x40")


def test_health_and_openapi_need_no_key(client: httpx.Client) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    schema = client.get("/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/tasks/{task_id}/hand-to-designer" in schema.json()["paths"]


def test_every_domains_router_is_included(app: FastAPI, client: httpx.Client) -> None:
    paths = app.openapi()["paths"]
    for prefix in (
        "/api/v1/tasks",
        "/api/v1/dispatch/callback",
        "/api/v1/conversations",
        "/api/v1/library",
        "/r/{token}",
        "/healthz",
    ):
        assert any(p.startswith(prefix) for p in paths), prefix
    # Routes left out of the schema answer too: metrics and the console's login page.
    assert "aics_tasks" in client.get("/metrics").text
    assert client.get("/console/login").status_code == 200
