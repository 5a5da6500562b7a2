"""The gateway protocol of CONTRACT §7: JSON text frames, parsed and built here only.

Gateway → ai-cs: ``{"type": "event", "event": {...}}`` and ``{"type": "sent", "command_id"}``.
ai-cs → gateway: ``{"type": "ack", "event_id"}`` and ``{"type": "send", "command_id",
"account_id", "conversation_id", "to", "message": {kind, text, attachments}}``.

Parsing is lenient where that loses nothing (unknown fields are kept in the stored raw event) and
strict where a mistake would do harm: an event without a usable ``event_id`` cannot be acked and
is dropped with a log line; an event with an id but a malformed body is stored, acked and
recorded as not processable, so the gateway stops redelivering it and staff can see it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_FRAME_CHARS: Final = 1024 * 1024
MAX_ID_CHARS: Final = 200
MAX_TEXT_CHARS: Final = 4000
MAX_AMOUNT_FEN: Final = 10_000_000
"""Largest amount a payment event may carry (10 万元); an image order is far below it."""

EventKind = Literal["message", "payment", "order_status", "system"]
SenderRole = Literal["buyer", "seller", "system"]


class Sender(BaseModel):
    """Who wrote or caused the event."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    nick: str | None = Field(default=None, max_length=200)
    role: SenderRole = "buyer"


class WireAttachment(BaseModel):
    """A picture in a message: where to fetch it and its size as the platform reports it."""

    model_config = ConfigDict(extra="allow")

    url: str = Field(min_length=1, max_length=4096)
    width: int | None = Field(default=None, ge=0)
    height: int | None = Field(default=None, ge=0)


class WireMessage(BaseModel):
    """The message body of a ``message`` event or a ``send`` command."""

    model_config = ConfigDict(extra="allow")

    kind: Literal["text", "image"] = "text"
    text: str = Field(default="", max_length=MAX_TEXT_CHARS)
    attachments: list[WireAttachment] = Field(default_factory=list, max_length=20)


class Order(BaseModel):
    """The order of a ``payment`` or ``order_status`` event (money in integer fen)."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    # Strict: "3000" is refused, not read as 3000; bounded: 2**63 is no amount (10 万元 at most).
    amount_fen: int | None = Field(default=None, ge=0, le=MAX_AMOUNT_FEN, strict=True)
    status: str | None = Field(default=None, max_length=64)


class GatewayEvent(BaseModel):
    """One event from the marketplace (CONTRACT §7)."""

    model_config = ConfigDict(extra="allow")

    event_id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    kind: EventKind
    platform: str | None = Field(default=None, max_length=64)
    account_id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    conversation_id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    sender: Sender
    message: WireMessage | None = None
    order: Order | None = None
    occurred_at: str | None = Field(default=None, max_length=64)


@dataclass(frozen=True)
class ReceivedEvent:
    """An event frame as received: the raw object, and the parsed event when it is valid."""

    event_id: str
    raw: dict[str, Any]
    event: GatewayEvent | None
    error: str | None = None


@dataclass(frozen=True)
class SentReceipt:
    """The gateway confirms a ``send`` (``{"type": "sent", "command_id"}``)."""

    command_id: str


@dataclass(frozen=True)
class Ignored:
    """A frame that carries nothing for ai-cs (unknown type, no usable id, not JSON)."""

    reason: str


Frame = ReceivedEvent | SentReceipt | Ignored


_EVENT_ID = re.compile(r'"event_id"\s*:\s*"([^"\\]{1,128})"')


def _usable_id(value: object) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS and value.strip() == value:
        return value
    return None


def parse_frame(data: str | bytes) -> Frame:
    """Read one text frame from the gateway."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            return Ignored("binary frame that is not UTF-8")
    if len(data) > MAX_FRAME_CHARS:
        return Ignored(f"frame of {len(data)} characters is too large")
    try:
        obj = json.loads(data)
    except ValueError:
        return Ignored("frame is not JSON")
    except RecursionError:
        return _too_deep(data)
    if not isinstance(obj, dict):
        return Ignored("frame is not a JSON object")
    kind = obj.get("type")
    if kind == "sent":
        command_id = _usable_id(obj.get("command_id"))
        return SentReceipt(command_id) if command_id else Ignored("sent without command_id")
    if kind != "event":
        return Ignored(f"unknown frame type {str(kind)[:40]!r}")
    raw = obj.get("event")
    if not isinstance(raw, dict):
        return Ignored("event frame without an event object")
    event_id = _usable_id(raw.get("event_id"))
    if event_id is None:
        return Ignored("event without a usable event_id")
    try:
        event = GatewayEvent.model_validate(raw)
    except RecursionError:
        return _too_deep(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:3]
        )
        return ReceivedEvent(event_id=event_id, raw=raw, event=None, error=problems)
    return ReceivedEvent(event_id=event_id, raw=raw, event=event)


def _too_deep(data: str) -> Frame:
    """A frame nested too deeply to parse: kept for staff and acked when an id can be read.

    Acking matters: a real gateway redelivers an unacked event forever, so a poison frame must
    be answered once and set aside, never allowed to end the read loop.
    """
    found = _EVENT_ID.search(data)
    event_id = _usable_id(found.group(1)) if found else None
    if event_id is None:
        return Ignored("frame nested too deeply to read, without a usable event_id")
    raw = {"event_id": event_id, "unparsed": data[:2000]}
    return ReceivedEvent(event_id=event_id, raw=raw, event=None, error="nested too deeply to read")


def ack_frame(event_id: str) -> str:
    """``{"type": "ack", "event_id"}``: the event is stored durably."""
    return json.dumps({"type": "ack", "event_id": event_id}, ensure_ascii=False)


def send_frame(
    *, command_id: str, account_id: str, conversation_id: str, to: str, message: dict[str, Any]
) -> str:
    """``{"type": "send", ...}``: a reply to a customer."""
    return json.dumps(
        {
            "type": "send",
            "command_id": command_id,
            "account_id": account_id,
            "conversation_id": conversation_id,
            "to": to,
            "message": message,
        },
        ensure_ascii=False,
    )


def wire_message(
    text: str, kind: str = "text", attachments: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A ``message`` object ``{kind, text, attachments}`` for a send."""
    if kind not in ("text", "image"):
        raise ValueError(f"message kind must be 'text' or 'image', got {kind!r}")
    return {"kind": kind, "text": text, "attachments": list(attachments or [])}
