"""Test data shared by the integration tests: one way to make each thing they all need."""

from __future__ import annotations

import re

from PIL import Image, ImageDraw
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


def hills(size: tuple[int, int] = (1200, 800)) -> Image.Image:
    """A landscape: sky, a green hill, the sun (matches no product picture)."""
    width, height = size
    img = Image.new("RGB", size, (120, 180, 235))
    draw = ImageDraw.Draw(img)
    draw.polygon([(0, height), (width * 0.4, height * 0.45), (width, height)], fill=(50, 130, 60))
    draw.ellipse((width * 0.7, height * 0.1, width * 0.85, height * 0.3), fill=(250, 220, 60))
    return img


def csrf_of(html: str) -> str:
    """The CSRF token a console page's forms carry (fails the test when the page has none)."""
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)
