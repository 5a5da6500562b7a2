"""The conversation list as a chat tool shows it: last message, its time, unread marks.

"Unread" is the number of customer messages after the last time any staff member opened the
conversation in the console (a shared team inbox, as the shop's staff share one account on the
platform). Opening a conversation stores the id of its newest message
(``console_conversation_reads``); customer messages with a higher id are unread.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Integer, Text, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from ai_cs.clock import Clock, iso
from ai_cs.conversations.models import ConversationMessage
from ai_cs.conversations.service import Role, attachments_from_json
from ai_cs.db.models import Base

PREVIEW_CHARS = 60


class ConversationRead(Base):
    """Where staff stopped reading a conversation (migration ``api0002``)."""

    __tablename__ = "console_conversation_reads"

    conversation_id: Mapped[str] = mapped_column(Text, primary_key=True)
    last_read_message_id: Mapped[int] = mapped_column(Integer)
    read_by: Mapped[str | None] = mapped_column(Text)
    read_at: Mapped[str] = mapped_column(Text)


def mark_read(
    session: Session, clock: Clock, conversation_id: str, message_id: int, by: str
) -> None:
    """Remember that staff have seen the conversation up to ``message_id`` (never backwards).

    One upsert, so two staff members opening the same chat at once cannot collide on the key.
    """
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(ConversationRead).values(
        conversation_id=conversation_id,
        last_read_message_id=message_id,
        read_by=by,
        read_at=iso(clock.now()),
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[ConversationRead.conversation_id],
            set_={
                "last_read_message_id": stmt.excluded.last_read_message_id,
                "read_by": stmt.excluded.read_by,
                "read_at": stmt.excluded.read_at,
            },
            where=ConversationRead.last_read_message_id < stmt.excluded.last_read_message_id,
        )
    )


def last_read(session: Session, conversation_id: str) -> int:
    """The id of the newest message staff have seen in the conversation (0: none)."""
    row = session.get(ConversationRead, conversation_id)
    return row.last_read_message_id if row is not None else 0


def _preview(text: str | None, attachments: str | None) -> str:
    words = " ".join((text or "").split())
    if len(words) > PREVIEW_CHARS:
        words = words[: PREVIEW_CHARS - 1] + "…"
    pictures = len(attachments_from_json(attachments))
    if pictures:
        words = f"[图片{'×' + str(pictures) if pictures > 1 else ''}] {words}".strip()
    return words


def summaries(session: Session, conversation_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """For each conversation: its last message (who, preview, time) and the unread count."""
    ids = list(conversation_ids)
    if not ids:
        return {}
    last_ids = (
        select(func.max(ConversationMessage.id).label("id"))
        .where(ConversationMessage.conversation_id.in_(ids))
        .group_by(ConversationMessage.conversation_id)
        .subquery()
    )
    out: dict[str, dict[str, Any]] = {
        cid: {"last_role": None, "last_text": "", "last_at": None, "unread": 0} for cid in ids
    }
    for row in session.execute(
        select(ConversationMessage).join(last_ids, ConversationMessage.id == last_ids.c.id)
    ).scalars():
        out[row.conversation_id].update(
            last_role=row.role,
            last_text=_preview(row.text, row.attachments),
            last_at=row.created_at,
        )
    read_up_to = func.coalesce(ConversationRead.last_read_message_id, 0)
    for cid, unread in session.execute(
        select(ConversationMessage.conversation_id, func.count())
        .outerjoin(
            ConversationRead,
            ConversationRead.conversation_id == ConversationMessage.conversation_id,
        )
        .where(
            ConversationMessage.conversation_id.in_(ids),
            ConversationMessage.role == Role.CUSTOMER.value,
            ConversationMessage.id > read_up_to,
        )
        .group_by(ConversationMessage.conversation_id)
    ):
        out[cid]["unread"] = int(unread)
    return out
