"""Decoded push entries → what they mean → CONTRACT §7 events (marketplace-notes §1.5, §1.6, §8).

Classification goes by content, never by one ``lwp``, and is tolerant: a shape not recognised
becomes :class:`Skip` with a reason (logged, the raw entry kept by the session), never an error.

Field paths (decoded map ``m`` with string keys): ``m.1.1.1`` sender ``uid@goofish``, ``m.1.2``
chat id, ``m.1.3`` message id (``….PNM``, the IM id deduplicated on), ``m.1.5`` time in ms,
``m.1.6.3.4`` content type, ``m.1.6.3.5`` content JSON, ``m.1.10`` the extension
(``senderUserId``, ``reminderTitle`` nick, ``reminderContent``, ``extJson``, ``bizTag``,
``sessionType``, ``reminderUrl``). Order cards come as content type 26/32 or custom cards, as the
new-style card update (``m.1`` a ``….PNM`` string, ``m.4`` the extension) or as a short red
reminder (``m.3.redReminder``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal
from urllib.parse import parse_qs, urlparse

from ai_cs.bridges.xianyu.frames import bare

PLATFORM: Final = "xianyu"
SYSTEM_SENDER: Final = "1400"
CT_TEXT: Final = 1
CT_IMAGE: Final = 2
CT_AUDIO: Final = 3
CT_SYSTEM_TIP: Final = 14

OrderState = Literal["created", "paid", "shipped", "done", "refunding", "refunded", "closed"]

# Card texts first (most specific), then red reminders, then updateKey status tags.
ORDER_TEXTS: Final[tuple[tuple[str, OrderState], ...]] = (
    ("[我已拍下，待付款]", "created"),
    ("等待买家付款", "created"),
    ("[我已付款，等待你发货]", "paid"),
    ("[已付款，待发货]", "paid"),
    ("[记得及时发货]", "paid"),
    ("等待卖家发货", "paid"),
    ("[你已发货]", "shipped"),
    ("[买家确认收货，交易成功]", "done"),
    ("[我发起了退款申请]", "refunding"),
    ("[退款成功，钱款已原路退返]", "refunded"),
    ("[你关闭了订单，钱款已原路退返]", "refunded"),
    ("交易关闭", "closed"),
)
ORDER_TAGS: Final[tuple[tuple[str, OrderState], ...]] = (
    ("REFUND_SUCCESS", "refunded"),
    ("REFUND", "refunding"),
    ("CLOSE", "closed"),
    ("CONFIRM", "done"),
    ("SUCCESS", "done"),
    ("CONSIGN", "shipped"),
    ("SHIP", "shipped"),
    ("PAID", "paid"),
    ("WAIT_BUYER_PAY", "created"),
    ("CREATE", "created"),
)
_ORDER_ID = re.compile(r"(?:bizOrderId|orderId|order_id|[?&]id)=(\d{6,30})")


@dataclass(frozen=True)
class Picture:
    """A picture in a message, as the platform reports it."""

    url: str
    width: int | None
    height: int | None


@dataclass(frozen=True)
class Chat:
    """A chat message (text or picture) from the buyer or from the seller's own side."""

    message_id: str
    conversation_id: str
    sender_id: str
    sender_nick: str | None
    at_ms: int | None
    text: str
    pictures: tuple[Picture, ...] = ()
    item_id: str | None = None

    @property
    def kind(self) -> Literal["text", "image"]:
        """``image`` when the message carries pictures."""
        return "image" if self.pictures else "text"


@dataclass(frozen=True)
class OrderCard:
    """An order card or reminder: the order changed state."""

    message_id: str | None
    conversation_id: str
    order_id: str | None
    state: OrderState
    text: str
    sender_id: str | None
    peer_id: str | None
    at_ms: int | None


@dataclass(frozen=True)
class Skip:
    """Nothing for ai-cs: typing, read receipts, system tips, or a shape not recognised."""

    reason: str
    unknown: bool = False


Classified = Chat | OrderCard | Skip


def _get(node: Any, *path: str) -> Any:
    for key in path:
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


def _json(value: Any) -> Any:
    if isinstance(value, dict | list):
        return value
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return None
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _content(message: dict[str, Any]) -> tuple[int | None, dict[str, Any]]:
    """Content type and content object of a chat message (``m.1.6.3``)."""
    node = _get(message, "6", "3")
    if not isinstance(node, dict):
        return None, {}
    content_type = _int(node.get("4"))
    body = _json(node.get("5"))
    if body is None and isinstance(node.get("1"), str):
        # Older pushes: base64 JSON in m.1.6.3.1.
        try:
            body = json.loads(base64.b64decode(node["1"]).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            body = None
    if isinstance(body, dict):
        content_type = content_type if content_type is not None else _int(body.get("contentType"))
        return content_type, body
    return content_type, {}


def _order_state(*texts: str) -> OrderState | None:
    for text in texts:
        if not text:
            continue
        for marker, state in ORDER_TEXTS:
            if marker in text:
                return state
    return None


def _state_from_tag(update_key: str) -> OrderState | None:
    parts = update_key.split(":")
    tag = next((p for p in parts if re.fullmatch(r"[A-Z_]{4,}", p)), "")
    for marker, state in ORDER_TAGS:
        if marker in tag:
            return state
    return None


def _order_id(ext: dict[str, Any], content: dict[str, Any]) -> str | None:
    ext_json = _json(ext.get("extJson")) or {}
    update_key = str(ext_json.get("updateKey") or ext.get("updateKey") or "")
    parts = update_key.split(":")
    if len(parts) >= 2 and parts[1].isdigit():
        return parts[1]
    blob = json.dumps(content, ensure_ascii=False) + " " + str(ext.get("reminderUrl") or "")
    found = _ORDER_ID.search(blob)
    return found.group(1) if found else None


def _peer(ext: dict[str, Any]) -> str | None:
    url = str(ext.get("reminderUrl") or "")
    if not url:
        return None
    query = parse_qs(urlparse(url).query)
    peer = query.get("peerUserId")
    return peer[0] if peer else None


def _pictures(content: dict[str, Any]) -> tuple[Picture, ...]:
    pics = _get(content, "image", "pics")
    found: list[Picture] = []
    for pic in pics if isinstance(pics, list) else []:
        if isinstance(pic, dict) and isinstance(pic.get("url"), str):
            found.append(Picture(pic["url"], _int(pic.get("width")), _int(pic.get("height"))))
    return tuple(found)


def _card_title(content: dict[str, Any]) -> str:
    title = _get(content, "dxCard", "item", "main", "exContent", "title")
    return title if isinstance(title, str) else ""


def classify(decoded: Any) -> Classified:
    """What one decoded MessagePack entry is."""
    if not isinstance(decoded, dict):
        return Skip(f"entry is a {type(decoded).__name__}, not a map", unknown=True)
    first = decoded.get("1")
    if isinstance(first, list):
        return Skip("typing indicator")
    if isinstance(first, str):
        return _compact(decoded, first)
    if not isinstance(first, dict):
        if _int(decoded.get("2")) == 2 and decoded.get("4"):
            return Skip("read receipt")
        return Skip("no message map at m.1", unknown=True)
    message = first
    cid = bare(message.get("2"))
    message_id = message.get("3")
    ext_raw = message.get("10")
    ext: dict[str, Any] = ext_raw if isinstance(ext_raw, dict) else {}
    sender = bare(_get(message, "1", "1") or ext.get("senderUserId"))
    if not cid or not isinstance(message_id, str) or not message_id:
        return Skip("message without chat id or message id", unknown=True)
    content_type, content = _content(message)
    summary = str(_get(message, "6", "3", "2") or "")
    reminder = str(ext.get("reminderContent") or "")
    at_ms = _int(message.get("5"))
    ext_json = _json(ext.get("extJson")) or {}
    state = _order_state(
        reminder, summary, _card_title(content), str(ext.get("reminderTitle") or "")
    )
    if state is None and isinstance(ext_json, dict) and ext_json.get("updateKey"):
        state = _state_from_tag(str(ext_json["updateKey"]))
    if state is not None and content_type not in (CT_TEXT, CT_IMAGE):
        return OrderCard(
            message_id=message_id,
            conversation_id=cid,
            order_id=_order_id(ext, content),
            state=state,
            text=reminder or summary,
            sender_id=sender or None,
            peer_id=_peer(ext),
            at_ms=at_ms,
        )
    if sender == SYSTEM_SENDER or str(ext.get("msgArg1") or "") == "MsgTips":
        return Skip("system tip")
    if content_type == CT_SYSTEM_TIP:
        return Skip("system tip")

    def chat(text: str, pictures: tuple[Picture, ...] = ()) -> Chat:
        return Chat(
            message_id=message_id,
            conversation_id=cid,
            sender_id=sender,
            sender_nick=_nick(ext),
            at_ms=at_ms,
            text=text,
            pictures=pictures,
            item_id=_item(ext),
        )

    if content_type == CT_TEXT:
        text = _get(content, "text", "text")
        return chat(text if isinstance(text, str) else reminder)
    if content_type == CT_IMAGE:
        pictures = _pictures(content)
        if not pictures:
            return Skip("image message without a picture URL", unknown=True)
        return chat("", pictures)
    if content_type == CT_AUDIO:
        return Skip("voice message (not understood; staff can listen in the app)")
    return Skip(f"content type {content_type} not handled", unknown=content_type is None)


def _nick(ext: dict[str, Any]) -> str | None:
    nick = ext.get("reminderTitle") or ext.get("senderNick")
    return str(nick)[:200] if nick else None


def _item(ext: dict[str, Any]) -> str | None:
    url = str(ext.get("reminderUrl") or "")
    found = parse_qs(urlparse(url).query).get("itemId") if url else None
    return found[0] if found else None


def _compact(decoded: dict[str, Any], first: str) -> Classified:
    """Short shapes: the new-style card update and the red reminder."""
    if first.endswith(".PNM"):
        ext_raw = decoded.get("4")
        ext: dict[str, Any] = ext_raw if isinstance(ext_raw, dict) else {}
        cid = bare(decoded.get("2"))
        ext_json = _json(ext.get("extJson")) or {}
        state = _order_state(
            str(ext.get("reminderContent") or ""), str(ext.get("redReminder") or "")
        )
        if state is None and isinstance(ext_json, dict) and ext_json.get("updateKey"):
            state = _state_from_tag(str(ext_json["updateKey"]))
        if state is None or not cid:
            return Skip("card update without an order state")
        return OrderCard(
            message_id=first,
            conversation_id=cid,
            order_id=_order_id(ext, {}),
            state=state,
            text=str(ext.get("reminderContent") or ""),
            sender_id=None,
            peer_id=_peer(ext),
            at_ms=_int(decoded.get("5")),
        )
    red = _get(decoded, "3", "redReminder")
    if isinstance(red, str) and first.endswith("@goofish"):
        state = _order_state(red)
        if state is None:
            return Skip(f"red reminder {red!r}")
        return OrderCard(
            message_id=None,
            conversation_id=bare(first),
            order_id=None,
            state=state,
            text=red,
            sender_id=None,
            peer_id=None,
            at_ms=None,
        )
    return Skip("compact entry not recognised", unknown=True)


# --- §7 events ------------------------------------------------------------------------------------
def _occurred(at_ms: int | None) -> str:
    moment = datetime.fromtimestamp(at_ms / 1000, UTC) if at_ms else datetime.now(UTC)
    return moment.isoformat()


def message_event_id(account_id: str, message_id: str) -> str:
    """The §7 event id of an IM message: processed once per account and PNM id."""
    return f"xianyu:{account_id}:{message_id}"


def chat_event(chat: Chat, *, account_id: str, role: Literal["buyer", "seller"]) -> dict[str, Any]:
    """A §7 ``message`` event for a chat message (a buyer's, or a person on the seller's side).

    ``echoes_filtered``: the session dropped the echoes of its own sends by message id before
    this event was made, so a seller message here is a person even when it repeats our words.
    """
    return {
        "echoes_filtered": True,
        "event_id": message_event_id(account_id, chat.message_id),
        "kind": "message",
        "platform": PLATFORM,
        "account_id": account_id,
        "conversation_id": chat.conversation_id,
        "sender": {"id": chat.sender_id, "nick": chat.sender_nick, "role": role},
        "message": {
            "kind": chat.kind,
            "text": chat.text[:4000],
            "attachments": [
                {"url": p.url, "width": p.width, "height": p.height} for p in chat.pictures
            ],
        },
        "occurred_at": _occurred(chat.at_ms),
        "xianyu": {"message_id": chat.message_id, "item_id": chat.item_id},
    }


@dataclass(frozen=True)
class OrderFacts:
    """What the order card plus the order detail call say about one order."""

    order_id: str
    buyer_id: str
    amount_fen: int | None
    state: OrderState
    extra: dict[str, Any] = field(default_factory=dict)


def order_event(card: OrderCard, facts: OrderFacts, *, account_id: str) -> dict[str, Any]:
    """A §7 ``payment`` (paid) or ``order_status`` event; keyed by order and state.

    The same payment announced by two cards (the buyer's card and the red reminder) is one
    event id, so it is stored and answered once.
    """
    kind = "payment" if facts.state == "paid" else "order_status"
    return {
        "event_id": f"xianyu:{account_id}:order:{facts.order_id}:{facts.state}",
        "kind": kind,
        "platform": PLATFORM,
        "account_id": account_id,
        "conversation_id": card.conversation_id,
        "sender": {"id": facts.buyer_id, "nick": None, "role": "buyer"},
        "order": {"id": facts.order_id, "amount_fen": facts.amount_fen, "status": facts.state},
        "occurred_at": _occurred(card.at_ms),
        "xianyu": {"message_id": card.message_id, "card_text": card.text[:200], **facts.extra},
    }
