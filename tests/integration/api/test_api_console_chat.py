"""客户会话 like a chat tool: last message, unread marks, pictures from our stored copy only."""

from __future__ import annotations

import io
import re

import httpx
from PIL import Image

from ai_cs import datafiles
from ai_cs.api import console_reads
from ai_cs.config import Settings
from ai_cs.conversations import service as conversations
from ai_cs.conversations.contracts import Attachment
from ai_cs.workflow import Workflow
from factories import open_chat

GATEWAY_URL = "https://img.alicdn.com/buyer/poster.jpg"
UNSAVED_URL = "https://img.alicdn.com/buyer/never-stored.jpg"


def _say(workflow: Workflow, cid: str, role: str, text: str, *pictures: str) -> None:
    with workflow.db.write() as session:
        conversations.record_message(
            session,
            workflow.clock,
            cid,
            direction=conversations.Direction("in" if role == "customer" else "out"),
            role=conversations.Role(role),
            text=text,
            attachments=tuple(Attachment(url=u) for u in pictures),
        )


def _open(workflow: Workflow, cid: str, nick: str) -> None:
    with workflow.db.write() as session:
        open_chat(session, workflow.clock, cid, f"buyer_{cid}", nick=nick)


def _stored_copy(settings: Settings) -> str:
    out = io.BytesIO()
    Image.new("RGB", (800, 800), (240, 200, 10)).save(out, "JPEG")
    return datafiles.put(settings.data_dir, "images", out.getvalue(), "jpg")


def _row(html: str, cid: str) -> str:
    return html.split(f'data-conversation-id="{cid}"')[1].split("</li>")[0]


def test_list_shows_last_message_and_unread_until_opened(
    console: httpx.Client, workflow: Workflow
) -> None:
    _open(workflow, "c1", "小明")
    _open(workflow, "c2", "王女士")
    _say(workflow, "c1", "customer", "你好")
    _say(workflow, "c1", "customer", "这张能去背景吗？")
    _say(workflow, "c2", "customer", "在吗")
    _say(workflow, "c2", "ai", "在的，请把图片发给我～")
    inbox = console.get("/console/conversations").text
    assert "这张能去背景吗？" in _row(inbox, "c1")
    assert re.search(r'class="unread-count"[^>]*>2<', _row(inbox, "c1"))
    assert "AI：在的，请把图片发给我～" in _row(inbox, "c2")
    assert re.search(r'class="unread-count"[^>]*>1<', _row(inbox, "c2"))

    assert console.get("/console/conversations/c1").status_code == 200
    inbox = console.get("/console/conversations").text
    assert "unread-count" not in _row(inbox, "c1")
    _say(workflow, "c1", "customer", "还在吗")
    inbox = console.get("/console/conversations").text
    assert re.search(r'class="unread-count"[^>]*>1<', _row(inbox, "c1"))
    assert "unread-count" in _row(inbox, "c2")  # opening c1 left c2 unread


def test_pictures_are_shown_from_our_stored_copy_only(
    console: httpx.Client, workflow: Workflow, settings: Settings
) -> None:
    _open(workflow, "c3", "李记小吃")
    _say(workflow, "c3", "customer", "这张海报", GATEWAY_URL)
    _say(workflow, "c3", "customer", "还有这张", UNSAVED_URL)
    workflow.image_analysis_result(
        "buyer_c3",
        GATEWAY_URL,
        "normal",
        "1:1",
        "no",
        conversation_id="c3",
        stored_image=_stored_copy(settings),
    )
    page = console.get("/console/conversations/c3")
    assert page.status_code == 200
    assert "img-src 'self' data:;" in page.headers["content-security-policy"]
    assert GATEWAY_URL not in page.text and UNSAVED_URL not in page.text
    srcs = re.findall(r'<img src="(/console/conversations/c3/pictures/[^"]+)"', page.text)
    assert len(srcs) == 1 and srcs[0].endswith("?size=160")
    assert "[图片：未保存副本]" in page.text
    picture = console.get(srcs[0].replace("&amp;", "&"))
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/webp"
    with Image.open(io.BytesIO(picture.content)) as image:
        assert image.size == (160, 160)
    message_id = srcs[0].split("/pictures/")[1].split("/")[0]
    for bad in (f"{message_id}/1", f"{int(message_id) + 1}/0", f"{message_id}/7"):
        assert console.get(f"/console/conversations/c3/pictures/{bad}").status_code == 404, bad
    _open(workflow, "other", "别人")
    assert console.get(f"/console/conversations/other/pictures/{message_id}/0").status_code == 404


def test_transcript_fragment_for_polling(console: httpx.Client, workflow: Workflow) -> None:
    _open(workflow, "c4", "周师傅")
    _say(workflow, "c4", "customer", "第一句")
    fragment = console.get("/console/conversations/c4/messages")
    assert fragment.status_code == 200 and "第一句" in fragment.text
    assert "<html" not in fragment.text
    assert console.get("/console/conversations/nope/messages").status_code == 404
    console.cookies.clear()
    assert console.get("/console/conversations/c4/messages").status_code == 401


def test_read_marks_only_move_forward(workflow: Workflow) -> None:
    with workflow.db.write() as session:
        console_reads.mark_read(session, workflow.clock, "c9", 5, "小王")
        console_reads.mark_read(session, workflow.clock, "c9", 3, "小李")
    with workflow.db.read() as session:
        assert console_reads.last_read(session, "c9") == 5  # never backwards
    with workflow.db.write() as session:
        console_reads.mark_read(session, workflow.clock, "c9", 8, "小李")
    with workflow.db.read() as session:
        assert console_reads.last_read(session, "c9") == 8
        assert console_reads.last_read(session, "never") == 0
