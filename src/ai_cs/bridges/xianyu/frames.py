"""lwp frames of the Goofish IM websocket (marketplace-notes §1.3, §1.4, §1.7).

Frames are JSON text: requests ``{"lwp": PATH, "headers": {"mid": …}, "body": …}``, replies
``{"code": 200, "headers": {"mid": …}, "body": …}`` on the same ``mid``, and server pushes with
their own ``lwp`` (``/s/sync``, ``/s/para``, ``/s/vulcan``, ``/push/kickout`` …) that must each be
acknowledged once with ``{"code": 200, "headers": {"mid", "sid", …}}``.

A push's ``body.syncPushPackage.data[]`` holds entries whose ``data`` is base64 of either JSON
(system frames) or a MessagePack map with integer keys (chat messages). It is not encryption.
:func:`decode_entry` reads both and never raises: what it cannot read comes back as
:class:`Undecodable` with the raw text kept, so the frame can become a test fixture.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any, Final

import msgpack

from ai_cs.bridges.xianyu.mtop import IM_APP_KEY, USER_AGENT

IM_UA: Final = (
    USER_AGENT + " DingTalk(2.1.5) OS(Windows/10) Browser(Chrome/133.0.0.0) DingWeb/2.1.5 "
    "IMPaaS DingWeb/2.1.5"
)
SEND_PATH: Final = "/r/MessageSend/sendByReceiverScope"
ACK_DIFF_PATH: Final = "/r/SyncStatus/ackDiff"
HEARTBEAT_PATH: Final = "/!"
REG_PATH: Final = "/reg"
KICKOUT_PATHS: Final = frozenset({"/push/kickout", "/s/session/remove"})
ACK_HEADER_KEYS: Final = ("mid", "sid", "app-key", "ua", "dt")
GOOFISH_SUFFIX: Final = "@goofish"
_NOT_BASE64: Final = re.compile(r"[^A-Za-z0-9+/=_-]")


def now_ms() -> int:
    """Milliseconds since the epoch (the platform's clock unit)."""
    return int(time.time() * 1000)


def new_mid() -> str:
    """A request id: a random 0–999 prefix, the millisecond time, and ``" 0"``."""
    return f"{random.randint(0, 999)}{now_ms()} 0"


def new_uuid() -> str:
    """A message uuid: ``"-"`` + millisecond time + ``"1"``."""
    return f"-{now_ms()}1"


def new_device_id(user_id: str) -> str:
    """A device id bound to the account for good: a UUID-shaped string, ``-``, the user id."""
    return f"{str(uuid.uuid4()).upper()}-{user_id}"


def bare(platform_id: object) -> str:
    """``"123@goofish"`` → ``"123"`` (ids travel with the suffix, ai-cs keeps them without)."""
    text = str(platform_id or "")
    return text[: -len(GOOFISH_SUFFIX)] if text.endswith(GOOFISH_SUFFIX) else text


def dumps(frame: dict[str, Any]) -> str:
    """A frame as compact JSON text."""
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def reg_frame(access_token: str, device_id: str, mid: str) -> dict[str, Any]:
    """``/reg``: register the connection; ``did`` must be the token request's device id."""
    return {
        "lwp": REG_PATH,
        "headers": {
            "cache-header": "app-key token ua wv",
            "app-key": IM_APP_KEY,
            "token": access_token,
            "ua": IM_UA,
            "dt": "j",
            "wv": "im:3,au:3,sy:6",
            "sync": "0,0;0;0;",
            "did": device_id,
            "mid": mid,
        },
    }


def sync_from_now_frame(mid: str, at_ms: int) -> dict[str, Any]:
    """``/r/SyncStatus/ackDiff`` at "now": start from the present, replay no backlog."""
    return {
        "lwp": ACK_DIFF_PATH,
        "headers": {"mid": mid},
        "body": [
            {
                "pipeline": "sync",
                "tooLong2Tag": "PNM,1",
                "channel": "sync",
                "topic": "sync",
                "highPts": 0,
                "pts": at_ms * 1000,
                "seq": 0,
                "timestamp": at_ms,
            }
        ],
    }


def heartbeat_frame(mid: str) -> dict[str, Any]:
    """``/!``: the keep-alive; answered with code 200 on the same mid."""
    return {"lwp": HEARTBEAT_PATH, "headers": {"mid": mid}}


def ack_frame(headers: dict[str, Any]) -> dict[str, Any]:
    """The acknowledgement of a push: code 200 with its mid, sid and client headers."""
    kept = {k: headers[k] for k in ACK_HEADER_KEYS if k in headers}
    return {"code": 200, "headers": kept}


def content_text(text: str) -> dict[str, Any]:
    """Inner content of a text message."""
    return {"contentType": 1, "text": {"text": text}}


def content_image(url: str, width: int | None, height: int | None) -> dict[str, Any]:
    """Inner content of an image message (a picture already on the platform's CDN)."""
    pic = {"url": url, "width": width or 0, "height": height or 0, "type": 0}
    return {"contentType": 2, "image": {"pics": [pic]}}


def send_frame(
    mid: str, *, conversation_id: str, to: str, me: str, content: dict[str, Any]
) -> dict[str, Any]:
    """``/r/MessageSend/sendByReceiverScope``: one message to a buyer in a chat."""
    inner = base64.b64encode(dumps(content).encode("utf-8")).decode("ascii")
    return {
        "lwp": SEND_PATH,
        "headers": {"mid": mid},
        "body": [
            {
                "uuid": new_uuid(),
                "cid": f"{bare(conversation_id)}{GOOFISH_SUFFIX}",
                "conversationType": 1,
                "content": {"contentType": 101, "custom": {"type": 1, "data": inner}},
                "redPointPolicy": 0,
                "extension": {"extJson": "{}"},
                "ctx": {"appVersion": "1.0", "platform": "web"},
                "mtags": {},
                "msgReadStatusSetting": 1,
            },
            {"actualReceivers": [f"{bare(to)}{GOOFISH_SUFFIX}", f"{bare(me)}{GOOFISH_SUFFIX}"]},
        ],
    }


# --- reading ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Incoming:
    """One text frame from the server, parsed enough to route it."""

    lwp: str | None
    mid: str | None
    code: int | None
    headers: dict[str, Any]
    body: Any
    raw: str


def parse_incoming(text: str | bytes) -> Incoming | None:
    """Parse a frame; ``None`` when it is not a JSON object (logged by the caller)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    headers = obj.get("headers")
    headers = headers if isinstance(headers, dict) else {}
    lwp = obj.get("lwp")
    code = obj.get("code")
    mid = headers.get("mid")
    return Incoming(
        lwp=lwp if isinstance(lwp, str) else None,
        mid=mid if isinstance(mid, str) else None,
        code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        headers=headers,
        body=obj.get("body"),
        raw=text,
    )


def push_entries(body: Any) -> list[str]:
    """Every ``body.syncPushPackage.data[].data`` string of a push (all of them, in order)."""
    if not isinstance(body, dict):
        return []
    package = body.get("syncPushPackage")
    items = package.get("data") if isinstance(package, dict) else None
    if not isinstance(items, list):
        return []
    return [
        item["data"]
        for item in items
        if isinstance(item, dict) and isinstance(item.get("data"), str)
    ]


@dataclass(frozen=True)
class Decoded:
    """A readable push entry: ``kind`` is ``json`` (system frame) or ``msgpack`` (a message)."""

    kind: str
    value: Any


@dataclass(frozen=True)
class Undecodable:
    """An entry that is neither base64 JSON nor base64 MessagePack (kept for a fixture)."""

    reason: str
    raw: str


def _b64(data: str) -> bytes:
    cleaned = _NOT_BASE64.sub("", data).replace("-", "+").replace("_", "/")
    return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))


def string_keys(value: Any) -> Any:
    """A decoded map with its integer keys as strings (``m["1"]["2"]``), as JSON would show it."""
    if isinstance(value, dict):
        return {str(k): string_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [string_keys(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def decode_entry(data: str) -> Decoded | Undecodable:
    """base64 → UTF-8 JSON, else base64 → MessagePack (``strict_map_key=False, raw=False``)."""
    try:
        blob = _b64(data)
    except (binascii.Error, ValueError) as exc:
        return Undecodable(f"not base64: {exc}", data)
    try:
        return Decoded("json", json.loads(blob.decode("utf-8")))
    except (UnicodeDecodeError, ValueError, RecursionError):
        pass
    try:
        value = msgpack.unpackb(blob, strict_map_key=False, raw=False)
    except (msgpack.UnpackException, ValueError, TypeError, RecursionError) as exc:
        return Undecodable(f"not MessagePack: {type(exc).__name__}: {exc}", data)
    except UnicodeDecodeError:
        try:
            value = msgpack.unpackb(blob, strict_map_key=False, raw=True)
        except (msgpack.UnpackException, ValueError, TypeError) as exc:
            return Undecodable(f"not MessagePack: {type(exc).__name__}", data)
    return Decoded("msgpack", string_keys(value))


def int_keys(value: Any) -> Any:
    """The inverse of :func:`string_keys` for digit keys (fixtures → wire-shaped maps)."""
    if isinstance(value, dict):
        return {
            (int(k) if isinstance(k, str) and k.isdigit() else k): int_keys(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [int_keys(v) for v in value]
    return value


def encode_entry(value: Any) -> str:
    """A push entry as the platform sends a message: MessagePack (integer keys), base64."""
    return base64.b64encode(msgpack.packb(int_keys(value), use_bin_type=True)).decode("ascii")


def encode_json_entry(value: Any) -> str:
    """A push entry as the platform sends a system frame: JSON, base64."""
    return base64.b64encode(dumps(value).encode("utf-8")).decode("ascii")


def sync_push(entries: list[str], mid: str, *, lwp: str = "/s/sync") -> dict[str, Any]:
    """A server push carrying ``entries`` (used by the fake service and tests)."""
    return {
        "lwp": lwp,
        "headers": {"mid": mid, "sid": f"sid-{mid.split(' ')[0]}"},
        "body": {"syncPushPackage": {"data": [{"data": e, "objectType": 40000} for e in entries]}},
    }
