"""Test data shared by the integration tests: one way to make each thing they all need."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ai_cs.clock import Clock
from ai_cs.conversations import service as conversations
from ai_cs.conversations.models import Conversation


def open_chat(
    session: Session,
    clock: Clock,
    conversation_id: str,
    customer_id: str,
    *,
    account_id: str = "shop_a",
    platform: str = "xianyu",
    nick: str | None = None,
) -> Conversation:
    """The conversation row a customer's first message would create (in ``session``)."""
    return conversations.open_conversation(
        session,
        clock,
        conversation_id=conversation_id,
        platform=platform,
        account_id=account_id,
        customer_id=customer_id,
        customer_nick=nick,
    )
