"""``/api/v1/conversations`` on the real API app served on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from agent_support import Chat, conversation
from sqlalchemy import select

from ai_cs.agent.handler import AgentHandler
from ai_cs.api import create_app
from ai_cs.api.server import ThreadedServer
from ai_cs.config import Settings
from ai_cs.imaging.ocr import StaticOcr
from ai_cs.marketplace.models import GatewayOutbox
from ai_cs.workflow import Workflow
from factories import api_keys

pytestmark = pytest.mark.anyio


@pytest.fixture
def keys(fixed_workflow: Workflow) -> dict[str, str]:
    return api_keys(fixed_workflow)


@pytest.fixture
def client(fixed_workflow: Workflow, settings: Settings) -> Iterator[httpx.Client]:
    app = create_app(settings, workflow=fixed_workflow)
    with ThreadedServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_staff_see_write_take_over_and_hand_back(
    fixed_workflow: Workflow, client: httpx.Client, keys: dict[str, str]
) -> None:
    chat = Chat(AgentHandler(fixed_workflow, ocr=StaticOcr()))
    await chat.say("你好")
    await chat.say("转人工")
    staff = auth(keys["staff"])

    listed = client.get("/api/v1/conversations", headers=staff).json()
    assert listed["count"] == 1
    assert listed["data"][0]["conversation_id"] == "conv_123"
    assert listed["data"][0]["needs_human"] is True
    waiting = client.get("/api/v1/conversations", params={"needs_human": "false"}, headers=staff)
    assert waiting.json()["count"] == 0

    history = client.get("/api/v1/conversations/conv_123/messages", headers=staff).json()
    assert [m["role"] for m in history["data"]] == ["customer", "ai", "customer", "system", "ai"]

    sent = client.post(
        "/api/v1/conversations/conv_123/messages",
        json={"text": "您好，我是客服小王"},
        headers=staff,
    )
    assert sent.status_code == 201
    body = sent.json()
    assert (body["direction"], body["role"], body["author"]) == ("out", "staff", "客服小王")
    assert body["queued_for_gateway"] is True
    with fixed_workflow.db.read() as session:
        row = session.execute(select(GatewayOutbox)).scalar_one()
    assert (row.conversation_id, row.to, row.status) == ("conv_123", "customer_123", "pending")
    assert "您好，我是客服小王" in row.message
    assert conversation(fixed_workflow, "conv_123").takeover_until is not None
    assert await chat.say("好的") == ""  # the AI stays quiet while staff talk

    back = client.post("/api/v1/conversations/conv_123/handback", headers=staff).json()
    assert back["paused"] is False and back["needs_human"] is False
    assert await chat.say("多少钱") != ""

    taken = client.post(
        "/api/v1/conversations/conv_123/takeover", json={"minutes": 5}, headers=staff
    ).json()
    assert taken["paused"] is True and taken["taken_over_by"] == "客服小王"
    assert await chat.say("在吗") == ""


async def test_errors_are_json_4xx(
    fixed_workflow: Workflow, client: httpx.Client, keys: dict[str, str]
) -> None:
    await Chat(AgentHandler(fixed_workflow, ocr=StaticOcr())).say("你好")
    staff = auth(keys["staff"])
    cases = [
        (client.get("/api/v1/conversations"), 401),
        (client.get("/api/v1/conversations", headers=auth(keys["designer"])), 403),
        (client.get("/api/v1/conversations/nope/messages", headers=staff), 404),
        (client.post("/api/v1/conversations/nope/handback", headers=staff), 404),
        (
            client.post(
                "/api/v1/conversations/conv_123/messages", json={"text": "x" * 5000}, headers=staff
            ),
            422,
        ),
        (
            client.post(
                "/api/v1/conversations/conv_123/messages", json={"text": "  "}, headers=staff
            ),
            422,
        ),
        (
            client.post(
                "/api/v1/conversations/conv_123/takeover", json={"minutes": -1}, headers=staff
            ),
            422,
        ),
        (client.get("/api/v1/conversations", params={"limit": 0}, headers=staff), 422),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        assert set(response.json()["error"]) == {"code", "message"}
