"""Conversation services: messages in and out, manual takeover, the agent's memory, hand-offs.

Functions take a session and never commit; the edge (the agent handler, the HTTP routes, the
CLI) opens the transaction. A conversation belongs to one customer for its whole life: a message
that names an existing conversation with another customer id is refused, so one customer can
never continue (or read the memory of) another customer's chat.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from pydantic import ValidationError
from pydantic_ai.messages import (
    ModelMessage,
    ModelMessagesTypeAdapter,
    ModelRequest,
    UserPromptPart,
)
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ai_cs.clock import Clock, iso
from ai_cs.conversations.contracts import Attachment, InboundMessage, OutboundMessage
from ai_cs.conversations.models import AgentMemory, Conversation, ConversationMessage
from ai_cs.core.records import pick
from ai_cs.core.tasks import MAX_ID_CHARS, check_id
from ai_cs.db.database import dialect_insert
from ai_cs.errors import Conflict, InvalidArgument, NotFound
from ai_cs.marketplace.protocol import MAX_TEXT_CHARS
from ai_cs.marketplace.service import queue_send
from ai_cs.notify import NotifyKind, emit

log = logging.getLogger(__name__)

MEMORY_TURNS: Final = 12
"""Customer turns of agent memory kept per conversation (older turns are dropped whole)."""
MEMORY_MAX_BYTES: Final = 256_000
"""Upper bound of one conversation's stored memory; older turns go first."""
MAX_MESSAGE_CHARS: Final = MAX_TEXT_CHARS
"""A stored message's text is cut to what one message of the gateway protocol may carry."""
MAX_ATTACHMENTS: Final = 9
MAX_TAKEOVER_MINUTES: Final = 7 * 24 * 60
ASSIST_PREFIX: Final = "assist:"


def is_assisted(conversation_id: str) -> bool:
    """A 辅助回复 conversation (淘宝/千牛, 拼多多): no channel carries its messages.

    Staff copy the drafted replies into the platform's own chat by hand, so what the shop says
    there is recorded in the transcript and never queued for a sender.
    """
    return conversation_id.startswith(ASSIST_PREFIX)


class Direction(StrEnum):
    """Whether a message came from the customer's side or went to it."""

    IN = "in"
    OUT = "out"


class Role(StrEnum):
    """Who wrote a message."""

    CUSTOMER = "customer"
    AI = "ai"
    STAFF = "staff"
    SYSTEM = "system"


class ConversationNotFound(NotFound):
    """No conversation has this id (or the caller may not see it)."""

    code = "conversation_not_found"


class ConversationCustomerMismatch(Conflict):
    """A message names a conversation that belongs to another customer."""

    code = "conversation_customer_mismatch"


def _clean_text(text: object, *, limit: int = MAX_MESSAGE_CHARS) -> str:
    if not isinstance(text, str):
        raise InvalidArgument(f"message text must be a string, got {type(text).__name__}")
    cleaned = "".join(ch for ch in text if ch in "\n\t" or ord(ch) >= 32).strip()
    return cleaned[:limit]


def attachments_to_json(attachments: Iterable[Attachment]) -> str:
    """The JSON stored in ``conversation_messages.attachments``."""
    items = [asdict(a) for a in list(attachments)[:MAX_ATTACHMENTS]]
    return json.dumps(items, ensure_ascii=False)


def attachments_from_json(value: str | None) -> list[Attachment]:
    """Attachments decoded from their stored JSON (bad rows give none)."""
    try:
        items = json.loads(value or "[]")
    except ValueError:
        return []
    out: list[Attachment] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("url"), str):
            width, height = item.get("width"), item.get("height")
            out.append(
                Attachment(
                    url=item["url"],
                    width=width if isinstance(width, int) else None,
                    height=height if isinstance(height, int) else None,
                )
            )
    return out


def _epoch_iso(epoch: float | None, clock: Clock) -> str | None:
    if epoch is None:
        return None
    return iso(datetime.fromtimestamp(epoch, tz=clock.now().tzinfo))


def conversation_to_dict(row: Conversation, clock: Clock) -> dict[str, Any]:
    """A conversation as the API and the CLI show it."""
    paused = row.takeover_until is not None and row.takeover_until > clock.epoch()
    return {
        "conversation_id": row.conversation_id,
        "chat_id": row.chat_id,
        "platform": row.platform,
        "account_id": row.account_id,
        "customer_id": row.customer_id,
        "customer_nick": row.customer_nick,
        "paused": paused,
        "takeover_until": _epoch_iso(row.takeover_until, clock) if paused else None,
        "taken_over_by": row.taken_over_by if paused else None,
        "current_task_id": row.current_task_id,
        "needs_human": bool(row.needs_human),
        "needs_human_reason": row.needs_human_reason,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "last_message_at": row.last_message_at,
    }


def message_to_dict(row: ConversationMessage) -> dict[str, Any]:
    """A stored message as the API shows it (attachments decoded)."""
    return {
        **pick(row, "id", "conversation_id", "direction", "role", "text", "author", "created_at"),
        "attachments": [asdict(a) for a in attachments_from_json(row.attachments)],
    }


# --- conversations -------------------------------------------------------------------------------
def _load(session: Session, conversation_id: str, *, lock: bool = False) -> Conversation:
    stmt = select(Conversation).where(Conversation.conversation_id == conversation_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise ConversationNotFound(f"conversation {conversation_id!r} not found")
    return row


def get_conversation_row(session: Session, conversation_id: object) -> Conversation:
    """The conversation row or :class:`ConversationNotFound`."""
    return _load(session, check_id("conversation_id", conversation_id))


def find_conversation(
    session: Session, *, platform: str, account_id: str, chat_id: str, lock: bool = False
) -> Conversation | None:
    """The conversation a marketplace event belongs to: its platform, its shop account, its chat.

    A chat id alone is never enough: two shops (or two platforms) may use the same one.
    """
    stmt = select(Conversation).where(
        Conversation.platform == platform,
        Conversation.account_id == account_id,
        Conversation.chat_id == chat_id,
    )
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def scoped_conversation_id(platform: str, account_id: str, chat_id: str) -> str:
    """Our id for a chat whose platform id another shop's conversation already has.

    Stable for the chat (the same shop's next message finds it by its scope anyway) and within
    the id length every other id obeys.
    """
    digest = hashlib.sha256(f"{platform}\x1f{account_id}\x1f{chat_id}".encode()).hexdigest()[:12]
    return f"{chat_id[: MAX_ID_CHARS - len(digest) - 1]}@{digest}"


def open_conversation(
    session: Session,
    clock: Clock,
    *,
    conversation_id: object,
    platform: object,
    account_id: object,
    customer_id: object,
    customer_nick: str | None = None,
) -> Conversation:
    """The conversation of a chat (``conversation_id`` is the platform's id), made on first use.

    The chat is looked up by platform + account + chat id, so a message from another shop with
    the same chat id opens that shop's own conversation; the first shop to use a chat id gets it
    as our ``conversation_id`` too, a later one :func:`scoped_conversation_id`. Creation is an
    ``INSERT … ON CONFLICT DO NOTHING`` so two first messages racing on PostgreSQL both end with
    the same row; a known chat with another customer is refused.
    """
    chat = check_id("conversation_id", conversation_id)
    plat = check_id("platform", platform)
    account = check_id("account_id", account_id)
    customer = check_id("customer_id", customer_id)
    nick = str(customer_nick)[:200] if customer_nick else None
    row = find_conversation(session, platform=plat, account_id=account, chat_id=chat, lock=True)
    if row is None:
        now = iso(clock.now())
        columns = {
            "chat_id": chat,
            "platform": plat,
            "account_id": account,
            "customer_id": customer,
            "customer_nick": nick,
            "needs_human": 0,
            "declines": 0,
            "created_at": now,
            "updated_at": now,
        }
        for our_id in (chat, scoped_conversation_id(plat, account, chat)):
            # No conflict target: a clash on either the key or the chat is "someone was first".
            insert = dialect_insert(session, Conversation).values(conversation_id=our_id, **columns)
            session.execute(insert.on_conflict_do_nothing())
            row = find_conversation(
                session, platform=plat, account_id=account, chat_id=chat, lock=True
            )
            if row is not None:
                break
    if row is None:
        raise Conflict(f"conversation {chat!r} could not be opened", conversation_id=chat)
    if row.customer_id != customer:
        raise ConversationCustomerMismatch(
            f"conversation {chat!r} belongs to another customer", conversation_id=chat
        )
    if nick and row.customer_nick != nick:
        row.customer_nick = nick
    session.flush()
    return row


def is_paused(row: Conversation, clock: Clock) -> bool:
    """Whether staff have taken the conversation over (the AI stays quiet until then).

    The conversation row is the one place the pause lives: a seller typing in the platform's
    app, staff in the console or the API, and the gateway's lanes all read and write it here.
    """
    return row.takeover_until is not None and row.takeover_until > clock.epoch()


def chat_paused_until(
    session: Session, clock: Clock, *, platform: str, account_id: str, chat_id: str
) -> float | None:
    """When the AI may speak again in this marketplace chat, or ``None`` if it may now."""
    row = find_conversation(session, platform=platform, account_id=account_id, chat_id=chat_id)
    if row is None or not is_paused(row, clock):
        return None
    return row.takeover_until


def record_message(
    session: Session,
    clock: Clock,
    conversation_id: str,
    *,
    direction: Direction,
    role: Role,
    text: str,
    attachments: Sequence[Attachment] = (),
    author: str | None = None,
    event_ids: Sequence[str] = (),
) -> ConversationMessage:
    """Store one message and move the conversation's ``last_message_at``."""
    now = iso(clock.now())
    row = ConversationMessage(
        conversation_id=conversation_id,
        direction=direction.value,
        role=role.value,
        text=_clean_text(text),
        attachments=attachments_to_json(attachments),
        author=author[:200] if author else None,
        event_ids=json.dumps(list(event_ids)) if event_ids else None,
        created_at=now,
    )
    session.add(row)
    session.execute(
        update(Conversation)
        .where(Conversation.conversation_id == conversation_id)
        .values(last_message_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return row


def record_inbound(
    session: Session,
    clock: Clock,
    conversation_id: str,
    message: InboundMessage,
    *,
    role: Role = Role.CUSTOMER,
) -> ConversationMessage:
    """Keep a message that came in from the chat, with the gateway events that carried it.

    ``role`` is the customer's, or ``Role.SYSTEM`` for the platform's own notices.
    """
    return record_message(
        session,
        clock,
        conversation_id,
        direction=Direction.IN,
        role=role,
        text=message.text,
        attachments=message.attachments,
        event_ids=message.event_ids,
    )


def take_over(
    session: Session,
    clock: Clock,
    conversation_id: object,
    *,
    minutes: float,
    by: str | None = None,
) -> dict[str, Any]:
    """Pause the AI in this conversation for ``minutes`` (人工接管)."""
    if not isinstance(minutes, int | float) or not 0 < minutes <= MAX_TAKEOVER_MINUTES:
        raise InvalidArgument(
            f"takeover minutes must be between 0 and {MAX_TAKEOVER_MINUTES}, got {minutes!r}"
        )
    row = get_conversation_row(session, conversation_id)
    until = clock.epoch() + float(minutes) * 60
    # Never shorten a longer pause someone else set.
    row.takeover_until = max(until, row.takeover_until or 0.0)
    row.taken_over_by = (by or "staff")[:200]
    return _saved(session, clock, row)


def seller_wrote(
    session: Session,
    clock: Clock,
    conversation_id: str,
    *,
    text: str,
    attachments: Sequence[Attachment] = (),
    author: str | None,
    event_ids: Sequence[str] = (),
    minutes: float,
) -> dict[str, Any]:
    """A person on the shop's side wrote in the platform's own app (人工接管, §7).

    The words are kept where staff read the chat and the AI is paused: the one place a seller
    takeover is written, whether the gateway or a handler saw the message.
    """
    record_message(
        session,
        clock,
        conversation_id,
        direction=Direction.OUT,
        role=Role.STAFF,
        text=text,
        attachments=attachments,
        author=author or "seller",
        event_ids=event_ids,
    )
    return take_over(session, clock, conversation_id, minutes=minutes, by=author or "seller")


def hand_back(session: Session, clock: Clock, conversation_id: object) -> dict[str, Any]:
    """Give the conversation back to the AI: no pause, no open request for a human."""
    row = get_conversation_row(session, conversation_id)
    row.takeover_until = None
    row.taken_over_by = None
    row.needs_human = 0
    row.needs_human_reason = None
    return _saved(session, clock, row)


def _saved(session: Session, clock: Clock, row: Conversation) -> dict[str, Any]:
    """Stamp a staff change on the conversation; the conversation as the API shows it."""
    row.updated_at = iso(clock.now())
    session.flush()
    return conversation_to_dict(row, clock)


def mark_needs_human(
    session: Session,
    clock: Clock,
    conversation_id: str,
    reason: str,
    *,
    notify: NotifyKind = NotifyKind.NEEDS_HUMAN,
    task_id: str | None = None,
) -> dict[str, Any]:
    """Flag the conversation for staff (转人工), leave a system message saying why, tell the shop.

    ``notify`` is the kind of notice the shop's group gets (a request for a human, a picture
    to review); the same reason again while the flag is still up is not announced twice.
    """
    row = _load(session, conversation_id, lock=True)
    text = _clean_text(reason, limit=500) or "需要人工处理"
    if not (row.needs_human and row.needs_human_reason == text):
        emit(
            session,
            clock,
            notify,
            task_id=task_id,
            conversation_id=row.conversation_id,
            account_id=row.account_id,
            platform=row.platform,
            customer=row.customer_nick or row.customer_id,
            reason=text,
        )
    row.needs_human = 1
    row.needs_human_reason = text
    row.updated_at = iso(clock.now())
    record_message(
        session,
        clock,
        conversation_id,
        direction=Direction.OUT,
        role=Role.SYSTEM,
        text=f"[转人工] {text}",
    )
    return conversation_to_dict(row, clock)


def set_current_task(session: Session, conversation_id: str, task_id: str) -> None:
    """Remember the task the conversation is about now."""
    session.execute(
        update(Conversation)
        .where(Conversation.conversation_id == conversation_id)
        .values(current_task_id=task_id)
        .execution_options(synchronize_session=False)
    )


def count_decline(session: Session, clock: Clock, conversation_id: str, reason: str) -> None:
    """Count one declined request (the risk rules look at a customer's declines), tell the shop."""
    row = _load(session, conversation_id, lock=True)
    row.declines = (row.declines or 0) + 1
    session.flush()
    emit(
        session,
        clock,
        NotifyKind.DECLINED,
        conversation_id=row.conversation_id,
        account_id=row.account_id,
        platform=row.platform,
        customer=row.customer_nick or row.customer_id,
        reason=reason,
    )


def customer_declines(session: Session, customer_id: str) -> int:
    """Declined requests of a customer over all conversations."""
    total = session.execute(
        select(func.coalesce(func.sum(Conversation.declines), 0)).where(
            Conversation.customer_id == customer_id
        )
    ).scalar_one()
    return int(total)


def list_conversations(
    session: Session,
    clock: Clock,
    *,
    needs_human: bool | None = None,
    customer_id: str | None = None,
    acc_ids: Iterable[str] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Conversations, most recent first, with optional filters; returns ``(page, total)``."""
    stmt = select(Conversation)
    if needs_human is not None:
        stmt = stmt.where(Conversation.needs_human == (1 if needs_human else 0))
    if customer_id is not None:
        stmt = stmt.where(Conversation.customer_id == check_id("customer_id", customer_id))
    if acc_ids is not None:
        stmt = stmt.where(Conversation.account_id.in_(list(acc_ids)))
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(
        stmt.order_by(
            func.coalesce(Conversation.last_message_at, Conversation.created_at).desc(),
            Conversation.conversation_id,
        )
        .limit(max(1, min(limit, 500)))
        .offset(max(0, offset))
    ).scalars()
    return [conversation_to_dict(r, clock) for r in rows], int(total)


def list_messages(
    session: Session, conversation_id: object, *, limit: int = 200, before_id: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """The newest ``limit`` messages, oldest first; returns ``(page, total)``."""
    cid = get_conversation_row(session, conversation_id).conversation_id
    base = select(ConversationMessage).where(ConversationMessage.conversation_id == cid)
    total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    stmt = base
    if before_id is not None:
        stmt = stmt.where(ConversationMessage.id < before_id)
    rows = list(
        session.execute(
            stmt.order_by(ConversationMessage.id.desc()).limit(max(1, min(limit, 1000)))
        ).scalars()
    )
    rows.reverse()
    return [message_to_dict(r) for r in rows], int(total)


def recent_customer_texts(session: Session, conversation_id: str, limit: int = 5) -> list[str]:
    """The customer's last few texts, oldest first (what the risk rules read as the request)."""
    rows = session.execute(
        select(ConversationMessage.text)
        .where(
            ConversationMessage.conversation_id == conversation_id,
            ConversationMessage.role == Role.CUSTOMER.value,
        )
        .order_by(ConversationMessage.id.desc())
        .limit(limit)
    ).scalars()
    return [t for t in reversed(list(rows)) if t]


def last_customer_pictures(session: Session, conversation_id: str) -> list[Attachment]:
    """The pictures of the customer's most recent message that had any."""
    groups = customer_pictures(session, conversation_id, limit=1)
    return groups[-1] if groups else []


MAX_PICTURES_KEPT: Final = 50


def customer_pictures(
    session: Session, conversation_id: str, limit: int | None = None
) -> list[list[Attachment]]:
    """Every picture the customer sent in the conversation, oldest first, grouped by message.

    The dialogue state numbers pictures in this order ("第二张" is the second one sent), and a
    message's group is what "两张都" points at. At most the last :data:`MAX_PICTURES_KEPT`.
    """
    rows = session.execute(
        select(ConversationMessage.attachments)
        .where(
            ConversationMessage.conversation_id == conversation_id,
            ConversationMessage.role == Role.CUSTOMER.value,
            ConversationMessage.attachments != "[]",
        )
        .order_by(ConversationMessage.id.desc())
        .limit(limit or MAX_PICTURES_KEPT)
    ).scalars()
    groups = [attachments_from_json(value) for value in rows]
    return [group for group in reversed(groups) if group]


# --- the agent's memory --------------------------------------------------------------------------
def _starts_turn(message: ModelMessage) -> bool:
    return isinstance(message, ModelRequest) and any(
        isinstance(part, UserPromptPart) for part in message.parts
    )


def trim_memory(messages: Sequence[ModelMessage], turns: int = MEMORY_TURNS) -> list[ModelMessage]:
    """The last ``turns`` customer turns, cut only where a turn starts.

    Cutting elsewhere could leave a tool result without the call that asked for it, which
    models refuse.
    """
    starts = [i for i, m in enumerate(messages) if _starts_turn(m)]
    if len(starts) <= turns:
        return list(messages[starts[0] :]) if starts else []
    return list(messages[starts[-turns] :])


def _dump(messages: Sequence[ModelMessage]) -> bytes:
    return ModelMessagesTypeAdapter.dump_json(list(messages))


def load_memory(session: Session, conversation_id: str) -> list[ModelMessage]:
    """The stored message history of the conversation (empty when none or unreadable)."""
    row = session.get(AgentMemory, conversation_id)
    if row is None or not row.messages:
        return []
    try:
        return list(ModelMessagesTypeAdapter.validate_json(row.messages))
    except (ValidationError, ValueError):
        # A history written by another pydantic-ai version: start afresh rather than fail.
        log.warning("agent memory of %s is unreadable; starting afresh", conversation_id)
        return []


def save_memory(
    session: Session, clock: Clock, conversation_id: str, messages: Sequence[ModelMessage]
) -> int:
    """Store the trimmed history; returns how many turns were kept."""
    kept = trim_memory(messages)
    data = _dump(kept)
    while len(data) > MEMORY_MAX_BYTES and len(kept) > 1:
        starts = [i for i, m in enumerate(kept) if _starts_turn(m)]
        if len(starts) < 2:
            kept = []
        else:
            kept = kept[starts[1] :]
        data = _dump(kept)
    turns = sum(1 for m in kept if _starts_turn(m))
    text = data.decode()
    row = session.get(AgentMemory, conversation_id)
    if row is None:
        session.add(
            AgentMemory(
                conversation_id=conversation_id,
                messages=text,
                turns=turns,
                updated_at=iso(clock.now()),
            )
        )
    else:
        row.messages = text
        row.turns = turns
        row.updated_at = iso(clock.now())
    session.flush()
    return turns


# --- the conversation outbox: every message to a customer ---------------------------------------
def send_to_customer(
    session: Session,
    clock: Clock,
    conversation_id: str,
    message: OutboundMessage,
    *,
    role: Role,
    author: str | None = None,
    command_id: str | None = None,
    event_ids: Sequence[str] = (),
) -> ConversationMessage | None:
    """Send ``message`` to the conversation's customer: the one way a message reaches one.

    In the caller's transaction it is recorded in the transcript (what staff and the console
    see) and queued in the marketplace send outbox (the gateway client or a bridge sends it,
    retried under its ``command_id``). A ``command_id`` queued before — a re-processed event, a
    redelivered payment — sends and records nothing again: returns ``None``.
    """
    conv = _load(session, conversation_id)
    queued = queue_send(
        session,
        clock,
        account_id=conv.account_id,
        conversation_id=conv.chat_id,
        to=conv.customer_id,
        message=message.wire(),
        command_id=command_id,
        held=is_assisted(conv.conversation_id),
    )
    if queued is None:
        return None
    return record_message(
        session,
        clock,
        conv.conversation_id,
        direction=Direction.OUT,
        role=role,
        text=message.text,
        attachments=message.attachments,
        author=author,
        event_ids=event_ids,
    )


def send_staff_message(
    session: Session,
    clock: Clock,
    conversation_id: object,
    *,
    text: str,
    author: str,
    attachments: Sequence[Attachment] = (),
    pause_minutes: float,
) -> tuple[dict[str, Any], bool]:
    """Store a staff message, pause the AI and queue it for the gateway.

    Returns the stored message and whether it went into the gateway outbox.
    """
    cleaned = _clean_text(text)
    if not cleaned and not attachments:
        raise InvalidArgument("a staff message needs text or a picture")
    row = get_conversation_row(session, conversation_id)
    if is_assisted(row.conversation_id):
        raise Conflict(
            f"conversation {row.conversation_id!r} is an assist-mode chat: nothing can be sent "
            "to its customer from here; reply in the platform's own chat"
        )
    if pause_minutes > 0:
        take_over(session, clock, row.conversation_id, minutes=pause_minutes, by=author)
    message = send_to_customer(
        session,
        clock,
        row.conversation_id,
        OutboundMessage(
            text=cleaned,
            kind="image" if attachments and not cleaned else "text",
            attachments=tuple(attachments),
        ),
        role=Role.STAFF,
        author=author,
    )
    assert message is not None  # a fresh command id is never queued before
    return message_to_dict(message), True
