"""Tables of the conversations domain: conversations, their messages, and the agent's memory.

Times are ISO 8601 text in the shop's time zone. ``takeover_until`` is the one epoch float: the
handler compares it with the clock on every customer turn (manual takeover, 人工接管).
"""

from __future__ import annotations

from sqlalchemy import Index
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from ai_cs.db.models import Base, Counter, SerialId, ShopAccountColumns, TextKey, Timestamps


class Conversation(ShopAccountColumns, Timestamps, Base):
    """One chat between a customer and a shop account on a platform (会话)."""

    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_customer", "customer_id"),
        Index("ix_conversations_needs_human", "needs_human", "last_message_at"),
        Index("uq_conversations_chat", "platform", "account_id", "chat_id", unique=True),
    )

    # Our key. The platform's chat id is unique only inside one shop account, so a chat is
    # found by (platform, account_id, chat_id); conversation_id equals chat_id unless another
    # shop already had a conversation with that id.
    conversation_id: Mapped[TextKey]
    chat_id: Mapped[str]  # the platform's id of the chat (§7 conversation_id)
    customer_id: Mapped[str]
    customer_nick: Mapped[str | None]
    takeover_until: Mapped[float | None]  # epoch; AI paused until then
    taken_over_by: Mapped[str | None]
    current_task_id: Mapped[str | None]
    needs_human: Mapped[Counter]
    needs_human_reason: Mapped[str | None]
    declines: Mapped[Counter]
    last_message_at: Mapped[str | None]


class ConversationMessage(Base):
    """One message in or out: customer, AI, staff or a system note for staff."""

    __tablename__ = "conversation_messages"
    __table_args__ = (Index("ix_conversation_messages_conv", "conversation_id", "id"),)

    id: Mapped[SerialId]
    conversation_id: Mapped[str]
    direction: Mapped[str]  # "in" | "out"
    role: Mapped[str]  # "customer" | "ai" | "staff" | "system"
    text: Mapped[str] = mapped_column(server_default=sql_text("''"))
    attachments: Mapped[str] = mapped_column(server_default=sql_text("'[]'"))  # JSON list
    author: Mapped[str | None]  # staff name for staff messages
    event_ids: Mapped[str | None]  # JSON list of gateway event ids
    created_at: Mapped[str]


class AgentMemory(Base):
    """The agent's message history of a conversation (pydantic-ai JSON, recent turns only)."""

    __tablename__ = "agent_memory"

    conversation_id: Mapped[TextKey]
    messages: Mapped[str]
    turns: Mapped[Counter]
    updated_at: Mapped[str]
