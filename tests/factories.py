"""Test data shared by the integration and browser tests: one way to make each thing they need."""

from __future__ import annotations

import re
from collections.abc import Sequence
from math import gcd
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy.orm import Session

from ai_cs.auth.service import create_key
from ai_cs.clock import Clock
from ai_cs.conversations import service as conversations
from ai_cs.conversations.contracts import Attachment
from ai_cs.conversations.models import Conversation
from ai_cs.notify.events import NotifyKind, emit
from ai_cs.workflow import Workflow


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


def customer_says(
    session: Session,
    clock: Clock,
    conversation_id: str,
    text: str,
    attachments: Sequence[Attachment] = (),
) -> None:
    """Record a message from the customer in the conversation (in ``session``)."""
    conversations.record_message(
        session,
        clock,
        conversation_id,
        direction=conversations.Direction.IN,
        role=conversations.Role.CUSTOMER,
        text=text,
        attachments=attachments,
    )


def analysed_task(
    workflow: Workflow, stored_image: str, size: tuple[int, int], **fields: Any
) -> dict[str, Any]:
    """A pending 25 元 task of shop_a on 闲鱼 as the picture analysis records it.

    The stored picture is ``size`` pixels, of normal complexity, without text, blur or seal;
    ``fields`` add keywords of :meth:`Workflow.image_analysis_result` or replace these.
    """
    width, height = size
    common = gcd(width, height)
    arguments: dict[str, Any] = {
        "customer_id": "buyer_1",
        "image_url": "https://img.example.com/poster.jpg",
        "complexity": "normal",
        "aspect_ratio": f"{width // common}:{height // common}",
        "perspective": "no",
        "acc_id": "shop_a",
        "acc_type": "xianyu",
        "price_fen": 2500,
        "stored_image": stored_image,
        "image_sha256": "ab" * 32,
        "perspective_quad": None,
        "width": width,
        "height": height,
        "text_found": False,
        "blurry": False,
        "red_seal": False,
    }
    return workflow.image_analysis_result(**(arguments | fields))


def api_keys(workflow: Workflow, partner_shop: str = "shop_a") -> dict[str, str]:
    """One API key per scope, by scope; the partner key sees ``partner_shop`` only."""
    with workflow.db.write() as session:
        return {
            "admin": create_key(session, workflow.clock, name="老板", scope="admin"),
            "staff": create_key(session, workflow.clock, name="客服小王", scope="staff"),
            "partner": create_key(
                session, workflow.clock, name="A店系统", scope="partner", acc_ids=[partner_shop]
            ),
            "designer": create_key(session, workflow.clock, name="设计师", scope="designer"),
        }


def account_notice(workflow: Workflow, kind: NotifyKind, account_id: str, **fields: Any) -> bool:
    """Emit a notice about a 闲鱼 shop account in its own transaction (see ``notify.emit``)."""
    with workflow.db.write() as session:
        return emit(
            session, workflow.clock, kind, account_id=account_id, platform="xianyu", **fields
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
