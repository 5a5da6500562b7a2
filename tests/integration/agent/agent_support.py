"""Helpers of the agent's integration tests: pictures, a scripted chat, views of the database."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy import func, select

from ai_cs.agent.handler import AgentHandler
from ai_cs.conversations.contracts import Attachment, InboundMessage
from ai_cs.conversations.models import AgentMemory, Conversation, ConversationMessage
from ai_cs.db.models import OutboxMessage
from ai_cs.tasks.models import Payment
from ai_cs.workflow import Workflow
from factories import hills


def product_picture(
    size: tuple[int, int] = (640, 640),
    body: tuple[int, int, int] = (40, 90, 200),
    background: tuple[int, int, int] = (236, 238, 240),
) -> Image.Image:
    """A product shot: a bottle (body, neck, cap, label band) on a plain background."""
    width, height = size
    img = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle(
        (width * 0.32, height * 0.3, width * 0.68, height * 0.9),
        radius=int(width * 0.06),
        fill=body,
    )
    draw.rectangle((width * 0.44, height * 0.14, width * 0.56, height * 0.3), fill=body)
    draw.rectangle((width * 0.42, height * 0.09, width * 0.58, height * 0.15), fill=(30, 30, 30))
    draw.rectangle((width * 0.32, height * 0.5, width * 0.68, height * 0.62), fill=(250, 250, 245))
    return img


def landscape_picture(size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A different picture: sky, hills and a sun (must not match the bottle)."""
    return hills(size)


def save(img: Image.Image, path: Path, fmt: str = "PNG", **params: Any) -> Path:
    """Write ``img`` and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format=fmt, **params)
    return path


def jpeg_copy(img: Image.Image, scale: float, quality: int) -> bytes:
    """A resized, recompressed copy as a customer would send it."""
    small = img.resize((int(img.width * scale), int(img.height * scale)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=quality)
    return out.getvalue()


@dataclass
class Chat:
    """One customer's conversation with the shop, as the gateway would deliver it."""

    handler: AgentHandler
    customer_id: str = "customer_123"
    conversation_id: str = "conv_123"
    platform: str = "xianyu"
    account_id: str = "shop_1"
    nick: str = "小王"

    def message(
        self, text: str, pictures: Sequence[str | Path] = (), role: str = "buyer"
    ) -> InboundMessage:
        """The inbound message for ``text`` and ``pictures``."""
        return InboundMessage(
            platform=self.platform,
            account_id=self.account_id,
            conversation_id=self.conversation_id,
            customer_id=self.customer_id,
            customer_nick=self.nick,
            text=text,
            attachments=tuple(Attachment(url=str(p)) for p in pictures),
            sender_role=role,  # type: ignore[arg-type]
        )

    async def say(self, text: str, pictures: Sequence[str | Path] = ()) -> str:
        """Send one turn; the replies joined (empty while the AI is paused)."""
        replies = await self.handler.handle(self.message(text, pictures))
        return "\n".join(r.text for r in replies)


# --- database views ----------------------------------------------------------------------------
def conversation(workflow: Workflow, conversation_id: str) -> Conversation:
    """The stored conversation row."""
    with workflow.db.read() as session:
        row = session.get(Conversation, conversation_id)
        assert row is not None
        session.expunge(row)
        return row


def staff_called_because(workflow: Workflow, conversation_id: str = "conv_123") -> str:
    """Why staff were called into the conversation (fails the test when they were not)."""
    row = conversation(workflow, conversation_id)
    assert row.needs_human == 1, f"staff were not called into {conversation_id!r}"
    return row.needs_human_reason or ""


def messages(workflow: Workflow, conversation_id: str) -> list[tuple[str, str, str]]:
    """``(direction, role, text)`` of every stored message, oldest first."""
    with workflow.db.read() as session:
        rows = session.execute(
            select(
                ConversationMessage.direction, ConversationMessage.role, ConversationMessage.text
            )
            .where(ConversationMessage.conversation_id == conversation_id)
            .order_by(ConversationMessage.id)
        ).all()
    return [(d, r, t) for d, r, t in rows]


def memory_json(workflow: Workflow, conversation_id: str) -> str:
    """The stored agent memory (tool calls and results included) as JSON text."""
    with workflow.db.read() as session:
        row = session.get(AgentMemory, conversation_id)
        return row.messages if row is not None else ""


def tool_results(workflow: Workflow, conversation_id: str) -> str:
    """Every tool result kept in the agent's memory, as JSON text."""
    import json

    from pydantic_ai.messages import ModelMessagesTypeAdapter, ModelRequest, ToolReturnPart

    stored = memory_json(workflow, conversation_id)
    history = ModelMessagesTypeAdapter.validate_json(stored) if stored else []
    results = [
        part.model_response_str()
        for message in history
        if isinstance(message, ModelRequest)
        for part in message.parts
        if isinstance(part, ToolReturnPart)
    ]
    return json.dumps(results, ensure_ascii=False)


def payment_count(workflow: Workflow) -> int:
    """Rows in ``payments``."""
    with workflow.db.read() as session:
        return int(session.execute(select(func.count()).select_from(Payment)).scalar_one())


def dispatch_rows(workflow: Workflow) -> list[str]:
    """Keys of dispatch requests in the outbox."""
    with workflow.db.read() as session:
        return list(
            session.execute(
                select(OutboxMessage.key).where(OutboxMessage.topic == "dispatch")
            ).scalars()
        )
