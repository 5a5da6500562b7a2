"""Conversation pages of the staff console (会话): read a chat, take it over, reply, hand back.

Installed by :func:`ai_cs.api.console.install` when the conversations domain is present. Every
action calls :mod:`ai_cs.conversations.service`, the same functions as
``/api/v1/conversations``: a staff reply is stored, pauses the AI (人工接管) for the configured
time and goes into the gateway's send outbox in the same transaction.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from ai_cs.api.console import (
    ConsoleStaff,
    back_to,
    render,
    run_action,
    workflow_of,
)
from ai_cs.conversations import service as conversations
from ai_cs.errors import AicsError

ROLE_LABELS: Final = {"customer": "客户", "ai": "AI 客服", "staff": "人工客服", "system": "系统"}
OK_MESSAGES: Final = {
    "taken_over": "已接管会话，AI 暂停回复",
    "handed_back": "已交还给 AI",
    "replied": "消息已发送",
}
MESSAGES_SHOWN: Final = 200

router = APIRouter(prefix="/console/conversations", include_in_schema=False)


@router.get("")
def conversation_list(
    request: Request,
    principal: ConsoleStaff,
    needs_human: Annotated[bool | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """会话列表: newest first; ``needs_human=true`` shows the chats waiting for staff."""
    del principal
    workflow = workflow_of(request)
    with workflow.db.read() as session:
        rows, count = conversations.list_conversations(
            session, workflow.clock, needs_human=needs_human, limit=50, offset=offset
        )
    return render(
        request,
        "conversations.html",
        {
            "conversations": rows,
            "count": count,
            "needs_human": needs_human,
            "next_offset": offset + 50 if offset + 50 < count else None,
        },
    )


@router.get("/{conversation_id}")
def conversation_page(request: Request, conversation_id: str, principal: ConsoleStaff) -> Response:
    """One chat: the messages, whether the AI is paused, takeover / hand back / reply."""
    del principal
    workflow = workflow_of(request)
    try:
        with workflow.db.read() as session:
            row = conversations.get_conversation_row(session, conversation_id)
            conversation = conversations.conversation_to_dict(row, workflow.clock)
            messages, total = conversations.list_messages(
                session, row.conversation_id, limit=MESSAGES_SHOWN
            )
    except AicsError:
        return render(
            request, "not_found.html", {"task_id": conversation_id[:128]}, status_code=404
        )
    ok = request.query_params.get("ok", "")
    return render(
        request,
        "conversation.html",
        {
            "conversation": conversation,
            "messages": messages,
            "total": total,
            "role_labels": ROLE_LABELS,
            "takeover_minutes": int(request.app.state.settings.takeover_minutes),
            "conversation_ok": OK_MESSAGES.get(ok),
        },
    )


def _page(conversation_id: str) -> str:
    return f"/console/conversations/{conversation_id}"


@router.post("/{conversation_id}/takeover")
def takeover(
    request: Request,
    conversation_id: str,
    principal: ConsoleStaff,
    minutes: Annotated[float, Form(gt=0, le=conversations.MAX_TAKEOVER_MINUTES)] = 30,
    csrf: Annotated[str, Form(max_length=100)] = "",
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
    request: Request,
    conversation_id: str,
    principal: ConsoleStaff,
    csrf: Annotated[str, Form(max_length=100)] = "",
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
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Send a message to the customer as staff (the AI pauses for the takeover time)."""
    workflow = workflow_of(request)
    pause = float(request.app.state.settings.takeover_minutes)
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
