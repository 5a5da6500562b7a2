"""The seam between the marketplace gateway and the customer-service agent.

The gateway client turns websocket events into :class:`InboundMessage` and hands them to a
:class:`MessageHandler`; whatever the handler returns is sent back through the gateway outbox.
The agent package implements the handler; tests and the simulator may use simpler ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from ai_cs.marketplace.protocol import wire_message


@dataclass(frozen=True)
class Attachment:
    """A picture attached to a message."""

    url: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class InboundMessage:
    """One customer turn (a burst of messages may be merged into one turn by the gateway)."""

    platform: str  # the seed's acc_type, e.g. "xianyu"
    account_id: str  # the seed's acc_id (the shop account)
    conversation_id: str
    customer_id: str
    customer_nick: str | None
    text: str
    attachments: tuple[Attachment, ...] = ()
    event_ids: tuple[str, ...] = ()
    occurred_at: str | None = None
    # Who wrote it: a "seller" message is the shop's own staff typing in the platform app.
    sender_role: Literal["buyer", "seller", "system"] = "buyer"


@dataclass(frozen=True)
class OutboundMessage:
    """A reply to send to the customer."""

    text: str
    kind: Literal["text", "image"] = "text"
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)

    def wire(self) -> dict[str, Any]:
        """The ``message`` object of a §7 send: ``{kind, text, attachments}``."""
        return wire_message(self.text, self.kind, [asdict(a) for a in self.attachments])


class MessageHandler(Protocol):
    """Answers a customer turn."""

    async def handle(self, message: InboundMessage) -> list[OutboundMessage]:
        """The replies to ``message`` (possibly none, e.g. during a manual takeover)."""
        ...
