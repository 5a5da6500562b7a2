"""Issue 18 item 10: who reads /metrics, nosniff on dispatch, no customer URL in staff browsers."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import httpx
import pytest
from api_helpers import assert_error, bearer
from PIL import Image

from ai_cs.api import create_app
from ai_cs.api.server import ThreadedServer
from ai_cs.auth.service import create_key
from ai_cs.config import Settings
from ai_cs.conversations.contracts import Attachment
from ai_cs.conversations.service import Direction, Role, record_message
from ai_cs.dispatch.app import DispatchOptions, create_dispatch_app
from ai_cs.workflow import Workflow
from factories import open_chat
from loopback_http import picture_handler, serving


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


PNG = _png()


@pytest.fixture
def customer_site() -> Iterator[tuple[str, list[str]]]:
    """A stand-in for the customer's picture host: records who fetched."""
    seen: list[str] = []
    with serving(picture_handler(PNG, seen)) as httpd:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen


def _serve(settings: Settings, workflow: Workflow, **changes: object) -> ThreadedServer:
    return ThreadedServer(create_app(settings.model_copy(update=changes), workflow=workflow))


# --- /metrics ------------------------------------------------------------------------------------
def test_metrics_default_is_loopback_clients_not_through_a_proxy(client: httpx.Client) -> None:
    assert "aics_tasks" in client.get("/metrics").text
    for header in ({"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9"}):
        assert_error(client.get("/metrics", headers=header), 403, "metrics_local_only")


def test_metrics_off(settings: Settings, workflow: Workflow) -> None:
    with _serve(settings, workflow, metrics="off") as server:
        assert_error(httpx.get(f"{server.url}/metrics"), 404, "metrics_off")


def test_metrics_with_a_key(settings: Settings, workflow: Workflow, keys: dict[str, str]) -> None:
    with workflow.db.write() as session:
        scraper = create_key(session, workflow.clock, name="prometheus", scope="metrics")
    with (
        _serve(settings, workflow, metrics="key") as server,
        httpx.Client(base_url=server.url) as http,
    ):
        assert_error(http.get("/metrics"), 401)
        assert_error(http.get("/metrics", headers=bearer(keys["designer"])), 403)
        assert_error(http.get("/metrics", headers=bearer(keys["partner"])), 403)
        assert "aics_tasks" in http.get("/metrics", headers=bearer(scraper)).text
        assert "aics_tasks" in http.get("/metrics", headers=bearer(keys["staff"])).text
        # The metrics scope reads metrics and nothing else.
        assert_error(http.get("/api/v1/tasks", headers=bearer(scraper)), 403)


# --- nosniff on every dispatch answer ------------------------------------------------------------
def test_every_dispatch_answer_says_nosniff(settings: Settings, workflow: Workflow) -> None:
    app = create_dispatch_app(
        settings, db=workflow.db, clock=workflow.clock, options=DispatchOptions(background=False)
    )
    with ThreadedServer(app) as server, httpx.Client(base_url=server.url) as http:
        answers = [
            http.get("/healthz"),
            http.get("/"),
            http.get("/no-such-page"),
            http.get("/api/v1/jobs"),
            http.post("/api/v1/jobs", content=b"{", headers={"Content-Type": "application/json"}),
            http.get("/openapi.json"),
            http.get("/static/none.js"),
        ]
    assert [a.headers.get("x-content-type-options") for a in answers] == ["nosniff"] * len(answers)


# --- staff browsers never load a customer's URL -------------------------------------------------
def test_console_pages_load_pictures_only_from_the_console(
    settings: Settings, workflow: Workflow, keys: dict[str, str], customer_site
) -> None:
    site, seen = customer_site
    picture_url = f"{site}/photo.png?track=me"
    allowed = [site.removeprefix("http://")]
    with workflow.db.write() as session:
        open_chat(session, workflow.clock, "conv-leak", "buyer-1")
        record_message(
            session,
            workflow.clock,
            "conv-leak",
            direction=Direction.IN,
            role=Role.CUSTOMER,
            text="看看这张",
            attachments=[Attachment(url=picture_url)],
        )
    task = workflow.create_image_task(
        "buyer-1", picture_url, "enhance", acc_id="shop_a", acc_type="xianyu", price_fen=1500
    )
    with (
        _serve(settings, workflow, fetch_allowed_hosts=allowed) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        assert http.post("/console/login", data={"key": keys["staff"]}).status_code == 303
        for page in ("/console/conversations/conv-leak", f"/console/tasks/{task['task_id']}"):
            response = http.get(page)
            assert response.status_code == 200, page
            csp = response.headers["content-security-policy"]
            img_src = re.search(r"img-src ([^;]*)", csp)
            assert img_src is not None and "http" not in img_src.group(1), csp
            links = re.findall(r'<(?:img|a)[^>]* (?:src|href)="([^"]*)"', response.text)
            pictures = [u for u in links if "/pictures/" in u or "/original" in u]
            assert all(u.startswith("/console/") for u in links), links
            assert site not in response.text
            for url in pictures:  # each picture comes from us, never a redirect to the customer
                answer = http.get(url.replace("&amp;", "&"))
                assert answer.status_code in (200, 404), (url, answer.status_code)
        # The task's original is not stored here: the server fetches it (SSRF-checked) and
        # serves it; the staff browser is not sent to the customer's host.
        original = http.get(f"/console/tasks/{task['task_id']}/original")
        assert original.status_code == 200, original.text
        assert original.content == PNG
        assert original.headers["content-type"] == "image/png"
        assert original.headers["x-content-type-options"] == "nosniff"
        assert seen and all(path == "/photo.png?track=me" for path in seen)
