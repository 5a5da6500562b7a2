"""Issue 18 item 7: console logins are server-side sessions, and a login cannot be forged."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from api_helpers import assert_error, bearer
from sqlalchemy import func, select, update

from ai_cs.api import create_app
from ai_cs.api.server import ThreadedServer
from ai_cs.auth.models import ConsoleSession
from ai_cs.auth.service import revoke_key
from ai_cs.config import Settings
from ai_cs.workflow import Workflow


def _login(http: httpx.Client, key: str, **headers: str) -> httpx.Response:
    return http.post("/console/login", data={"key": key}, headers=headers)


def _sessions(workflow: Workflow) -> int:
    with workflow.db.read() as session:
        return int(session.execute(select(func.count()).select_from(ConsoleSession)).scalar_one())


@pytest.fixture
def http(server: ThreadedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def test_the_cookie_is_a_session_id_not_a_key(
    http: httpx.Client, keys: dict[str, str], workflow: Workflow
) -> None:
    assert _login(http, keys["staff"]).status_code == 303
    cookie = http.cookies["aics_console"]
    assert cookie != keys["staff"] and not cookie.startswith("aics_")
    assert _sessions(workflow) == 1
    assert http.get("/console/").status_code == 200
    # The cookie is not a key anywhere in the JSON API, as a bearer or as a cookie.
    assert_error(http.get("/api/v1/tasks", headers=bearer(cookie)), 401)
    assert_error(http.get("/api/v1/tasks"), 401)


def test_logout_revokes_the_session_on_the_server(
    http: httpx.Client, keys: dict[str, str], workflow: Workflow
) -> None:
    assert _login(http, keys["staff"]).status_code == 303
    copied = http.cookies["aics_console"]
    assert http.post("/console/logout").status_code == 303
    assert _sessions(workflow) == 0
    # A copy of the cookie taken before logout no longer logs anyone in.
    http.cookies.set("aics_console", copied, path="/console")
    page = http.get("/console/")
    assert page.status_code == 303 and page.headers["location"].startswith("/console/login")


def test_revoking_the_key_or_expiry_ends_the_session(
    http: httpx.Client, keys: dict[str, str], workflow: Workflow
) -> None:
    assert _login(http, keys["staff"]).status_code == 303
    assert http.get("/console/").status_code == 200
    with workflow.db.write() as session:
        session.execute(update(ConsoleSession).values(expires_at=workflow.clock.epoch() - 1))
    assert http.get("/console/").status_code == 303

    assert _login(http, keys["admin"]).status_code == 303
    assert http.get("/console/").status_code == 200
    key_id = keys["admin"].split("_")[1]
    with workflow.db.write() as session:
        revoke_key(session, workflow.clock, key_id)
    assert http.get("/console/").status_code == 303
    assert _sessions(workflow) == 1  # the expired one was swept at the second login


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "same-origin"},
    ],
)
def test_a_cross_site_login_post_plants_nothing(
    http: httpx.Client, keys: dict[str, str], workflow: Workflow, headers: dict[str, str]
) -> None:
    refused = _login(http, keys["staff"], **headers)
    assert refused.status_code == 403
    assert "set-cookie" not in refused.headers
    assert "其他网站" in refused.text
    assert _sessions(workflow) == 0


def test_a_same_origin_login_post_is_accepted(
    server: ThreadedServer, http: httpx.Client, keys: dict[str, str]
) -> None:
    same = {"Origin": server.url, "Sec-Fetch-Site": "same-origin"}
    assert _login(http, keys["staff"], **same).status_code == 303
    typed = {"Sec-Fetch-Site": "none"}
    assert _login(http, keys["staff"], **typed).status_code == 303


def test_secure_cookie_over_https(
    settings: Settings, workflow: Workflow, server: ThreadedServer, keys: dict[str, str]
) -> None:
    with httpx.Client(base_url=server.url) as plain:
        assert "Secure" not in _login(plain, keys["staff"]).headers["set-cookie"]
        # Through a TLS proxy on this machine (uvicorn trusts X-Forwarded-Proto from loopback).
        proxied = _login(plain, keys["staff"], **{"X-Forwarded-Proto": "https"})
        assert "Secure" in proxied.headers["set-cookie"]
    public = settings.model_copy(update={"public_base_url": "https://shop.example.com"})
    with (
        ThreadedServer(create_app(public, workflow=workflow)) as behind,
        httpx.Client(base_url=behind.url) as http,
    ):
        answer = _login(http, keys["staff"], Origin="https://shop.example.com")
        assert answer.status_code == 303
        assert "Secure" in answer.headers["set-cookie"]
