"""辅助回复 (assist mode): the AI drafts replies for platforms without a bridge (淘宝/千牛, 拼多多).

Staff paste the buyer's message (and drop their picture) into the console; the shop's agent
answers it exactly as it answers a gateway or ``aics chat`` turn — the same
:class:`~ai_cs.agent.handler.AgentHandler`, so the same conversation, memory, task and quote
machinery — and the console shows the drafted reply with a copy button, plus the order the turn
created or changed. Nothing is sent anywhere: the buyer's message and the draft are recorded in
the conversation, and staff paste the draft into 千牛 or the 拼多多 merchant app themselves.

A dropped picture goes through intake (checked, cleaned, stored under a storage key) before the
agent sees it; the agent is given the stored file's path, so it never reads anything but a
picture this shop stored. The conversation id is derived from platform + shop account + buyer,
so the same buyer on the same shop always continues the same conversation.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from ai_cs.agent.handler import AgentHandler
from ai_cs.api.console import CsrfField, back_to, console_staff, csrf_ok, render, workflow_of
from ai_cs.api.console_conversations import ROLE_LABELS, with_pictures
from ai_cs.api.console_labels import ERRORS, platform_label
from ai_cs.conversations import service as conversations
from ai_cs.conversations.contracts import Attachment, InboundMessage
from ai_cs.core.tasks import check_id
from ai_cs.errors import AicsError
from ai_cs.imaging.intake import intake

router = APIRouter(
    prefix="/console/assist", include_in_schema=False, dependencies=[Depends(console_staff)]
)

PLATFORMS: Final = {"taobao": "淘宝 / 千牛", "pinduoduo": "拼多多"}
"""Platforms with no bridge: staff relay their chats by hand."""
CONVERSATION_PREFIX: Final = conversations.ASSIST_PREFIX.rstrip(":")
MESSAGES_SHOWN: Final = 100
ASSIST_ERRORS: Final = {
    "csrf": "页面已过期，请刷新后再提交",
    "platform": "请选择买家所在的平台",
    "customer": "请填写买家的昵称或 ID",
    "account": "请填写店铺账号",
    "empty": "请粘贴买家的消息或拖入买家发的图片",
    "too_large": "图片太大了",
    "paused": "这个会话已由人工接管，AI 没有起草回复；可在会话页交还给 AI",
}


def conversation_id_for(platform: str, account_id: str, customer_id: str) -> str:
    """One conversation per platform + shop account + buyer (the same buyer continues it)."""
    return f"{CONVERSATION_PREFIX}:{platform}:{account_id}:{customer_id}"


def assist_handler(request: Request) -> AgentHandler:
    """The app's assist-mode agent handler (made on first use; tests may set their own).

    ``allow_local_files``: the only pictures it is given are files intake just stored.
    """
    handler: AgentHandler | None = getattr(request.app.state, "assist_handler", None)
    if handler is None:
        handler = AgentHandler(workflow_of(request), allow_local_files=True)
        request.app.state.assist_handler = handler
    return handler


def _assist_conversations(session: Session, request: Request) -> list[dict[str, Any]]:
    rows, _ = conversations.list_conversations(session, workflow_of(request).clock, limit=200)
    return [
        {**r, "platform_name": platform_label(r["platform"])}
        for r in rows
        if r["conversation_id"].startswith(f"{CONVERSATION_PREFIX}:")
    ][:30]


def _error_text(code: str) -> str | None:
    """What went wrong, in Chinese: assist's own checks, then picture/engine codes."""
    if not code:
        return None
    if code in ASSIST_ERRORS:
        return ASSIST_ERRORS[code]
    if code in ERRORS:
        what, todo = ERRORS[code]
        return f"{what}：{todo}"
    return "AI 没能起草回复，请检查买家 ID 和店铺账号（各不超过 50 个字）后重试"


def _draft(messages: list[dict[str, Any]]) -> str:
    """The AI's messages after the buyer's last one: the reply to copy back."""
    tail: list[str] = []
    for message in reversed(messages):
        if message["role"] == "customer":
            break
        if message["role"] == "ai" and message["text"]:
            tail.append(message["text"])
    return "\n\n".join(reversed(tail))


@router.get("")
def assist_page(
    request: Request,
    conversation: Annotated[str | None, Query(max_length=300)] = None,
) -> Response:
    """The assist form; with ``conversation``, that chat, the latest draft and its order."""
    workflow = workflow_of(request)
    data_dir = request.app.state.settings.data_dir
    current: dict[str, Any] | None = None
    messages: list[dict[str, Any]] = []
    task: dict[str, Any] | None = None
    with workflow.db.read() as session:
        recent = _assist_conversations(session, request)
        if conversation and conversation.startswith(f"{CONVERSATION_PREFIX}:"):
            try:
                row = conversations.get_conversation_row(session, conversation)
            except AicsError:
                row = None
            if row is not None:
                current = conversations.conversation_to_dict(row, workflow.clock)
                messages, _ = conversations.list_messages(
                    session, row.conversation_id, limit=MESSAGES_SHOWN
                )
                messages = with_pictures(session, data_dir, row.conversation_id, messages)
    if current and current.get("current_task_id"):
        try:
            task = workflow.get_task(str(current["current_task_id"]))
        except AicsError:
            task = None
    error = request.query_params.get("assist_err", "")
    return render(
        request,
        "assist.html",
        {
            "platforms": PLATFORMS,
            "recent": recent,
            "current": current,
            "conversation": current or {},
            "messages": messages,
            "role_labels": ROLE_LABELS,
            "draft": _draft(messages),
            "task": task,
            "assist_error": _error_text(error),
        },
    )


@router.post("")
async def assist_turn(
    request: Request,
    platform: Annotated[str, Form(max_length=32)] = "",
    account_id: Annotated[str, Form(max_length=50)] = "",
    customer_id: Annotated[str, Form(max_length=50)] = "",
    customer_nick: Annotated[str, Form(max_length=128)] = "",
    text: Annotated[str, Form(max_length=conversations.MAX_MESSAGE_CHARS)] = "",
    picture: Annotated[UploadFile | None, File()] = None,
    csrf: CsrfField = "",
) -> Response:
    """Run the agent on the buyer's pasted message / dropped picture; show its draft."""
    if not csrf_ok(request, csrf):
        return back_to("/console/assist", assist_err="csrf")
    if platform not in PLATFORMS:
        return back_to("/console/assist", assist_err="platform")
    try:
        customer = check_id("customer_id", customer_id)
        account = check_id("account_id", account_id)
    except AicsError:
        return back_to("/console/assist", assist_err="customer" if account_id else "account")
    conversation_id = conversation_id_for(platform, account, customer)
    page = "/console/assist"
    settings = request.app.state.settings
    data = await picture.read(settings.max_upload_bytes + 1) if picture is not None else b""
    if len(data) > settings.max_upload_bytes:
        return back_to(page, conversation=conversation_id, assist_err="too_large")
    if not text.strip() and not data:
        return back_to(page, conversation=conversation_id, assist_err="empty")
    attachments: tuple[Attachment, ...] = ()
    try:
        if data:
            stored = await asyncio.to_thread(intake, data, settings)
            attachments = (
                Attachment(url=str(stored.path), width=stored.width, height=stored.height),
            )
        replies = await assist_handler(request).handle(
            InboundMessage(
                platform=platform,
                account_id=account,
                conversation_id=conversation_id,
                customer_id=customer,
                customer_nick=customer_nick.strip() or customer,
                text=text.strip(),
                attachments=attachments,
            )
        )
    except AicsError as exc:
        return back_to(page, conversation=conversation_id, assist_err=exc.code)
    if not replies:
        return back_to(page, conversation=conversation_id, assist_err="paused")
    return back_to(page, conversation=conversation_id, ok="drafted")
