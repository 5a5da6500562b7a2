"""辅助回复: a pasted 淘宝 buyer message and picture get the agent's draft and a real task."""

from __future__ import annotations

import io
import re
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image, ImageDraw
from sqlalchemy import select

from ai_cs.agent.handler import AgentHandler
from ai_cs.api.console_assist import conversation_id_for
from ai_cs.conversations import service as conversations
from ai_cs.conversations.contracts import OutboundMessage
from ai_cs.imaging.ocr import StaticOcr
from ai_cs.marketplace.models import HELD, GatewayOutbox
from ai_cs.marketplace.service import claim_due_sends
from ai_cs.workflow import Workflow
from factories import csrf_of, open_chat


@pytest.fixture
def console(console: httpx.Client, app: FastAPI) -> httpx.Client:
    """The logged-in console with the agent drafting offline; a draft may take long (OCR)."""
    app.state.assist_handler = AgentHandler(
        app.state.workflow, ocr=StaticOcr(), allow_local_files=True
    )
    console.timeout = httpx.Timeout(120)
    return console


def product_png() -> bytes:
    image = Image.new("RGB", (640, 640), (236, 238, 240))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((205, 192, 435, 576), radius=38, fill=(40, 90, 200))
    draw.rectangle((282, 90, 358, 192), fill=(40, 90, 200))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_assist_drafts_a_reply_and_opens_the_order(
    console: httpx.Client, workflow: Workflow
) -> None:
    form = console.get("/console/assist")
    assert form.status_code == 200 and "淘宝 / 千牛" in form.text and "拼多多" in form.text
    fields = {
        "csrf": csrf_of(form.text),
        "platform": "taobao",
        "account_id": "tb_flagship",
        "customer_id": "tb_buyer_88",
        "customer_nick": "淘宝买家88",
        "text": "你好，这张图帮我把背景去掉",
    }
    turn = console.post(
        "/console/assist", data=fields, files={"picture": ("photo.png", product_png(), "image/png")}
    )
    cid = conversation_id_for("taobao", "tb_flagship", "tb_buyer_88")
    assert turn.status_code == 303
    location = turn.headers["location"]
    assert location.startswith(f"/console/assist?conversation={quote(cid, safe='')}")
    assert "ok=drafted" in turn.headers["location"]

    tasks = workflow.get_customer_tasks("tb_buyer_88")
    assert len(tasks) == 1
    task = tasks[0]
    assert (task["acc_type"], task["acc_id"], task["conversation_id"]) == (
        "taobao",
        "tb_flagship",
        cid,
    )
    assert task["status"] == "pending" and task["operation"] == "remove_bg"
    assert task["price_fen"] and task["price_fen"] > 0

    page = console.get(turn.headers["location"])
    draft = re.search(r'<textarea id="draft"[^>]*>(.*?)</textarea>', page.text, re.S)
    assert draft and task["task_id"] in draft.group(1)
    assert 'data-copy="draft"' in page.text
    assert f'data-task-id="{task["task_id"]}"' in page.text
    assert re.search(r'<img src="/console/conversations/[^"]+/pictures/\d+/0\?size=160"', page.text)

    with workflow.db.read() as session:
        messages, _ = conversations.list_messages(session, cid)
    assert [m["role"] for m in messages] == ["customer", "ai"]
    assert messages[1]["text"] in page.text.replace("&#34;", '"').replace("&#39;", "'")

    # The next message continues the same conversation and order.
    follow = console.post(
        "/console/assist",
        data={**fields, "text": "对了，要高清一点", "customer_nick": ""},
    )
    assert follow.status_code == 303
    assert workflow.get_task(task["task_id"])["customer_notes"]
    assert len(workflow.get_customer_tasks("tb_buyer_88")) == 1


def test_assist_refuses_bad_input_and_keeps_nothing(
    console: httpx.Client, workflow: Workflow
) -> None:
    token = csrf_of(console.get("/console/assist").text)
    base = {"csrf": token, "platform": "taobao", "account_id": "tb", "customer_id": "b1"}
    for change, code in (
        ({"csrf": "forged"}, "csrf"),
        ({"platform": "xianyu"}, "platform"),
        ({"customer_id": "  "}, "customer"),
        ({"text": ""}, "empty"),
    ):
        response = console.post("/console/assist", data={**base, "text": "在吗", **change})
        assert response.status_code == 303 and f"assist_err={code}" in response.headers["location"]
    junk = console.post(
        "/console/assist",
        data={**base, "text": "看看这个"},
        files={"picture": ("x.png", b"not a picture", "image/png")},
    )
    assert "assist_err=" in junk.headers["location"]
    page = console.get(junk.headers["location"])
    assert 'id="assist-error"' in page.text
    assert workflow.get_customer_tasks("b1") == []


def test_an_assist_conversation_never_queues_a_message_to_the_buyer(
    console: httpx.Client, workflow: Workflow
) -> None:
    cid = conversation_id_for("pinduoduo", "pdd_shop", "pdd_buyer")
    with workflow.db.write() as session:
        open_chat(
            session, workflow.clock, cid, "pdd_buyer", platform="pinduoduo", account_id="pdd_shop"
        )
    page = console.get(f"/console/conversations/{quote(cid, safe='')}")
    assert 'id="assist-note"' in page.text and 'id="reply-form"' not in page.text
    sent = console.post(
        f"/console/conversations/{quote(cid, safe='')}/reply",
        data={"csrf": csrf_of(console.get("/console/assist").text), "text": "您好"},
    )
    assert "err=assist_no_send" in sent.headers["location"]
    with workflow.db.read() as session:
        messages, _ = conversations.list_messages(session, cid)
    assert messages == []


def test_what_the_shop_says_in_an_assist_chat_is_recorded_and_never_sent(
    client: httpx.Client, keys: dict[str, str], workflow: Workflow
) -> None:
    """A result link for a 拼多多 order is kept in the transcript, not queued for a sender.

    No gateway or bridge carries 淘宝/拼多多 chats: a queued send would wait there for ever.
    The API's staff message is refused (409) and records nothing.
    """
    cid = conversation_id_for("pinduoduo", "pdd_shop", "pdd_buyer")
    with workflow.db.write() as session:
        open_chat(
            session, workflow.clock, cid, "pdd_buyer", platform="pinduoduo", account_id="pdd_shop"
        )
        for _ in range(2):  # the same command twice: recorded once
            conversations.send_to_customer(
                session,
                workflow.clock,
                cid,
                OutboundMessage(text="您的订单已处理完成 https://shop.example/r/x"),
                role=conversations.Role.AI,
                command_id="deliver-TASK_1",
            )
    with workflow.db.write() as session:
        due = claim_due_sends(session, workflow.clock.epoch() + 3600)
        held = session.execute(
            select(GatewayOutbox.status).where(GatewayOutbox.command_id == "deliver-TASK_1")
        ).scalar_one()
        messages, _ = conversations.list_messages(session, cid)
    assert due == []
    assert held == HELD
    assert [m["text"] for m in messages] == ["您的订单已处理完成 https://shop.example/r/x"]

    refused = client.post(
        f"/api/v1/conversations/{quote(cid, safe='')}/messages",
        headers={"Authorization": f"Bearer {keys['staff']}"},
        json={"text": "您好"},
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "conflict"
    with workflow.db.read() as session:
        after, _ = conversations.list_messages(session, cid)
        takeover = conversations.get_conversation_row(session, cid).takeover_until
    assert len(after) == 1 and takeover is None
