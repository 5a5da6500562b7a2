"""``/api/v1/conversations``: staff read chats, write to customers, take over and hand back.

A staff message is stored, pauses the AI for ``Settings.takeover_minutes`` and goes into the
gateway's send outbox so it reaches the customer. Keys limited to some shop accounts see only
those accounts' conversations; any other conversation is a 404. Each request is one
transaction, committed here at the edge.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ai_cs.auth.service import Principal, Scope
from ai_cs.clock import Clock
from ai_cs.config import Settings, get_settings
from ai_cs.conversations import service
from ai_cs.conversations.contracts import Attachment
from ai_cs.db.database import Database
from ai_cs.web.deps import ClockDep, DbDep, require

router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])

StaffDep = Annotated[Principal, Depends(require(Scope.STAFF))]
ConversationId = Annotated[str, PathParam(min_length=1, max_length=128)]


class AttachmentIn(BaseModel):
    """A picture in a staff message."""

    url: str = Field(min_length=1, max_length=2048)
    width: int | None = Field(None, ge=1, le=100_000)
    height: int | None = Field(None, ge=1, le=100_000)


class StaffMessageCreate(BaseModel):
    """A message staff send to the customer."""

    text: str = Field("", max_length=service.MAX_MESSAGE_CHARS)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=9)


class TakeoverCreate(BaseModel):
    """How long staff keep the conversation (default: the configured takeover time)."""

    minutes: float | None = Field(None, gt=0, le=service.MAX_TAKEOVER_MINUTES)


def _settings(request: Request) -> Settings:
    settings = getattr(request.app.state, "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


SettingsDep = Annotated[Settings, Depends(_settings)]


def _visible(session: Session, principal: Principal, conversation_id: str) -> None:
    row = service.get_conversation_row(session, conversation_id)
    if not principal.sees_account(row.account_id):
        raise service.ConversationNotFound(f"conversation {conversation_id!r} not found")


@dataclass(frozen=True)
class _Chats:
    """What the conversation routes share: the database, the clock, the staff member, settings."""

    db: Database
    clock: Clock
    principal: Principal
    settings: Settings

    @contextmanager
    def visible(self, conversation_id: str, *, write: bool = False) -> Iterator[Session]:
        """One transaction on a conversation the staff member may see (any other is a 404)."""
        with self.db.write() if write else self.db.read() as session:
            _visible(session, self.principal, conversation_id)
            yield session


def _chats(principal: StaffDep, db: DbDep, clock: ClockDep, settings: SettingsDep) -> _Chats:
    return _Chats(db, clock, principal, settings)


ChatsDep = Annotated[_Chats, Depends(_chats)]


@router.get("")
def list_conversations(
    chats: ChatsDep,
    needs_human: Annotated[bool | None, Query(description="Only chats waiting for staff.")] = None,
    customer_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """Conversations, most recent first: ``{"data": [...], "count": N}``."""
    with chats.db.read() as session:
        rows, total = service.list_conversations(
            session,
            chats.clock,
            needs_human=needs_human,
            customer_id=customer_id,
            acc_ids=chats.principal.acc_ids,
            limit=limit,
            offset=offset,
        )
    return {"data": rows, "count": total}


@router.get("/{conversation_id}/messages")
def list_messages(
    conversation_id: ConversationId,
    chats: ChatsDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    before_id: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    """The conversation's messages, oldest first: ``{"data": [...], "count": N}``."""
    with chats.visible(conversation_id) as session:
        rows, total = service.list_messages(
            session, conversation_id, limit=limit, before_id=before_id
        )
    return {"data": rows, "count": total}


@router.post(
    "/{conversation_id}/messages",
    status_code=201,
    responses={409: {"description": "an assist-mode (辅助回复) chat: nothing is sent from here"}},
)
def send_message(
    conversation_id: ConversationId, body: StaffMessageCreate, chats: ChatsDep
) -> dict[str, Any]:
    """Send a staff message to the customer; the AI pauses (人工接管)."""
    with chats.visible(conversation_id, write=True) as session:
        message, queued = service.send_staff_message(
            session,
            chats.clock,
            conversation_id,
            text=body.text,
            author=chats.principal.name,
            attachments=[Attachment(a.url, a.width, a.height) for a in body.attachments],
            pause_minutes=chats.settings.takeover_minutes,
        )
    return {**message, "queued_for_gateway": queued}


@router.post("/{conversation_id}/takeover")
def take_over(
    conversation_id: ConversationId, chats: ChatsDep, body: TakeoverCreate | None = None
) -> dict[str, Any]:
    """Pause the AI in this conversation (for ``minutes``, default the configured time)."""
    minutes = body.minutes if body is not None and body.minutes else chats.settings.takeover_minutes
    with chats.visible(conversation_id, write=True) as session:
        return service.take_over(
            session, chats.clock, conversation_id, minutes=minutes, by=chats.principal.name
        )


@router.post("/{conversation_id}/handback")
def hand_back(conversation_id: ConversationId, chats: ChatsDep) -> dict[str, Any]:
    """Give the conversation back to the AI and clear its request for a human."""
    with chats.visible(conversation_id, write=True) as session:
        return service.hand_back(session, chats.clock, conversation_id)
