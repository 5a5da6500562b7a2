"""Conversation pages of the staff console (会话), laid out like a chat tool.

The list shows each chat's last message, its time and an unread count (customer messages since
staff last opened it, :mod:`ai_cs.api.console_reads`); the transcript shows bubbles with the
customer's pictures inline. Pictures are previews of **our stored copy** — a picture staff
dropped in assist mode, or the copy intake stored for the task made from a gateway picture —
never the customer's external URL, which a staff browser must not load. A picture with no
stored copy shows as a placeholder.

Every action calls :mod:`ai_cs.conversations.service`, the same functions as
``/api/v1/conversations``: a staff reply is stored, pauses the AI (人工接管) for the configured
time and goes into the gateway's send outbox in the same transaction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ai_cs import datafiles
from ai_cs.api import console_reads
from ai_cs.api.console import (
    ConsoleLoginRequired,
    ConsoleStaff,
    CsrfField,
    PreviewSize,
    back_to,
    console_staff,
    preview_response,
    render,
    run_action,
    workflow_of,
)
from ai_cs.api.console_labels import platform_label
from ai_cs.conversations import service as conversations
from ai_cs.conversations.models import ConversationMessage
from ai_cs.errors import AicsError, NotFound
from ai_cs.imaging import thumbs
from ai_cs.tasks.models import ImageTask

ROLE_LABELS: Final = {"customer": "客户", "ai": "AI 客服", "staff": "人工客服", "system": "系统"}
OK_MESSAGES: Final = {
    "taken_over": "已接管会话，AI 暂停回复",
    "handed_back": "已交还给 AI",
    "replied": "消息已发送",
}
MESSAGES_SHOWN: Final = 200
"""Conversations relayed by hand through 辅助回复 (api/console_assist.py): nothing is sent."""
LIST_SHOWN: Final = 50

router = APIRouter(prefix="/console/conversations", include_in_schema=False)


def stored_picture(session: Session, data_dir: Path, conversation_id: str, url: str) -> str | None:
    """Our stored copy of a picture sent in ``conversation_id``, or None.

    A reference that is itself a stored file (assist mode stores the dropped picture first)
    is its own copy; a gateway picture's copy is the one intake stored for the task made from
    it in this conversation (``requirements.stored_image``).
    """
    if thumbs.can_preview(url) and datafiles.stored_file(data_dir, url):
        return url
    for requirements in session.execute(
        select(ImageTask.requirements).where(
            ImageTask.conversation_id == conversation_id, ImageTask.original_image == url
        )
    ).scalars():
        key, _ = datafiles.original_references({"requirements": requirements})
        if key and thumbs.can_preview(key) and datafiles.stored_file(data_dir, key):
            return key
    return None


def with_pictures(
    session: Session, data_dir: Path, conversation_id: str, messages: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Messages with ``pictures``: one flag per attachment, True when we hold a copy."""
    return [
        {
            **m,
            "pictures": [
                stored_picture(session, data_dir, conversation_id, a["url"]) is not None
                for a in m["attachments"]
            ],
        }
        for m in messages
    ]


def _inbox(
    session: Session, request: Request, needs_human: bool | None, offset: int
) -> dict[str, Any]:
    """The conversation list (with last message and unread counts) for the left pane."""
    rows, count = conversations.list_conversations(
        session,
        workflow_of(request).clock,
        needs_human=needs_human,
        limit=LIST_SHOWN,
        offset=offset,
    )
    extra = console_reads.summaries(session, [r["conversation_id"] for r in rows])
    return {
        "conversations": [
            {**r, **extra[r["conversation_id"]], "platform_name": platform_label(r["platform"])}
            for r in rows
        ],
        "count": count,
        "needs_human": needs_human,
        "next_offset": offset + LIST_SHOWN if offset + LIST_SHOWN < count else None,
    }


@router.get("")
def conversation_list(
    request: Request,
    principal: ConsoleStaff,
    needs_human: Annotated[bool | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """会话列表: newest first; ``needs_human=true`` shows the chats waiting for staff."""
    del principal
    with workflow_of(request).db.read() as session:
        inbox = _inbox(session, request, needs_human, offset)
    return render(request, "conversations.html", {**inbox, "current": None})


def _transcript(
    request: Request, conversation_id: str, by: str
) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
    """The conversation, its newest messages (with picture flags) and their total; marks read.

    Read in one transaction; the read mark is written only when there is something new, so a
    chat left open (polled every few seconds) does not write to the database on every poll.
    """
    workflow = workflow_of(request)
    data_dir = request.app.state.settings.data_dir
    with workflow.db.read() as session:
        row = conversations.get_conversation_row(session, conversation_id)
        cid = row.conversation_id
        conversation = conversations.conversation_to_dict(row, workflow.clock)
        messages, total = conversations.list_messages(session, cid, limit=MESSAGES_SHOWN)
        seen = console_reads.last_read(session, cid)
        shown = with_pictures(session, data_dir, cid, messages)
    newest = int(messages[-1]["id"]) if messages else 0
    if newest > seen:
        workflow.db.run_write(lambda s: console_reads.mark_read(s, workflow.clock, cid, newest, by))
    return conversation, shown, total


@router.get("/{conversation_id}")
def conversation_page(
    request: Request,
    conversation_id: str,
    principal: ConsoleStaff,
    needs_human: Annotated[bool | None, Query()] = None,
) -> Response:
    """One chat beside the list: bubbles, pictures inline, takeover / hand back / reply."""
    try:
        conversation, messages, total = _transcript(request, conversation_id, principal.name)
    except AicsError:
        return render(
            request, "not_found.html", {"task_id": conversation_id[:128]}, status_code=404
        )
    with workflow_of(request).db.read() as session:
        inbox = _inbox(session, request, needs_human, 0)
    ok = request.query_params.get("ok", "")
    return render(
        request,
        "conversation.html",
        {
            **inbox,
            "current": conversation["conversation_id"],
            "conversation": {
                **conversation,
                "platform_name": platform_label(conversation["platform"]),
            },
            "messages": messages,
            "total": total,
            "role_labels": ROLE_LABELS,
            "takeover_minutes": int(request.app.state.settings.takeover_minutes),
            "conversation_ok": OK_MESSAGES.get(ok),
            "assisted": conversations.is_assisted(conversation["conversation_id"]),
        },
    )


@router.get("/{conversation_id}/messages")
def messages_fragment(request: Request, conversation_id: str) -> Response:
    """The transcript's bubbles alone (polled by console.js); 401 when the login is gone."""
    try:
        principal = console_staff(request)
    except ConsoleLoginRequired:
        return Response(status_code=401, headers={"Cache-Control": "no-store"})
    try:
        conversation, messages, _ = _transcript(request, conversation_id, principal.name)
    except AicsError:
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    return render(
        request,
        "_messages.html",
        {"conversation": conversation, "messages": messages, "role_labels": ROLE_LABELS},
    )


@router.get("/{conversation_id}/pictures/{message_id}/{index}")
def message_picture(
    request: Request,
    conversation_id: str,
    message_id: int,
    index: int,
    principal: ConsoleStaff,
    size: PreviewSize = thumbs.SIZES[0],
) -> Response:
    """A preview of a picture in the chat, from our stored copy only (404 without one)."""
    del principal
    data_dir = request.app.state.settings.data_dir
    with workflow_of(request).db.read() as session:
        row = session.get(ConversationMessage, message_id)
        if row is None or row.conversation_id != conversation_id:
            raise NotFound("no such message in this conversation")
        attachments = conversations.attachments_from_json(row.attachments)
        if not 0 <= index < len(attachments):
            raise NotFound("no such picture in this message")
        reference = stored_picture(session, data_dir, conversation_id, attachments[index].url)
    return preview_response(data_dir, reference, size, missing="we hold no copy of this picture")


def _page(conversation_id: str) -> str:
    return f"/console/conversations/{conversation_id}"


@router.post("/{conversation_id}/takeover")
def takeover(
    request: Request,
    conversation_id: str,
    principal: ConsoleStaff,
    minutes: Annotated[float, Form(gt=0, le=conversations.MAX_TAKEOVER_MINUTES)] = 30,
    csrf: CsrfField = "",
) -> Response:
    """人工接管: pause the AI in this chat."""
    clock = workflow_of(request).clock
    return run_action(
        request,
        _page(conversation_id),
        csrf,
        lambda s: conversations.take_over(
            s, clock, conversation_id, minutes=minutes, by=principal.name
        ),
        "taken_over",
    )


@router.post("/{conversation_id}/handback")
def handback(
    request: Request, conversation_id: str, principal: ConsoleStaff, csrf: CsrfField = ""
) -> Response:
    """交还 AI: the AI answers again."""
    del principal
    clock = workflow_of(request).clock
    return run_action(
        request,
        _page(conversation_id),
        csrf,
        lambda s: conversations.hand_back(s, clock, conversation_id),
        "handed_back",
    )


@router.post("/{conversation_id}/reply")
def reply(
    request: Request,
    conversation_id: str,
    principal: ConsoleStaff,
    text: Annotated[str, Form(max_length=conversations.MAX_MESSAGE_CHARS)] = "",
    csrf: CsrfField = "",
) -> Response:
    """Send a message to the customer as staff (the AI pauses for the takeover time)."""
    workflow = workflow_of(request)
    pause = float(request.app.state.settings.takeover_minutes)
    if conversations.is_assisted(conversation_id):
        return back_to(_page(conversation_id), err="assist_no_send")
    if not text.strip():
        return back_to(_page(conversation_id), err="empty_requirement")
    return run_action(
        request,
        _page(conversation_id),
        csrf,
        lambda s: conversations.send_staff_message(
            s,
            workflow.clock,
            conversation_id,
            text=text,
            author=principal.name,
            pause_minutes=pause,
        ),
        "replied",
    )
