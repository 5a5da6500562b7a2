r"""The group chat tools shops use, each in its own format and signing scheme.

- **DingTalk** (钉钉) group robot: markdown message; with a 加签 secret the URL gets
  ``timestamp`` (milliseconds) and ``sign`` = base64(HMAC-SHA256(secret, "timestamp\nsecret")).
  DingTalk answers HTTP 200 even when it refuses a message, so ``errcode`` ≠ 0 is a failure.
- **Feishu** (飞书) custom bot: a ``post`` message; with a secret the body carries ``timestamp``
  (seconds) and ``sign`` = base64(HMAC-SHA256 keyed by "timestamp\nsecret" over nothing).
  ``code`` ≠ 0 is a failure.
- **WeCom** (企业微信) group robot: markdown; the key is in the URL; ``errcode`` ≠ 0 fails.
- **Webhook**: JSON for any system of the shop's, signed like the dispatch callbacks
  (CONTRACT §6, :mod:`ai_cs.core.signing`): ``X-Tuhui-Timestamp`` and
  ``X-Tuhui-Signature: sha256=<hex>`` over ``"timestamp." + body``. Any 2xx is success.

Robot URLs hold their access token: errors name the channel and what the service answered,
never the URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import ClassVar, Final, Protocol
from urllib.parse import quote

import httpx

from ai_cs.config import Settings
from ai_cs.core.signing import sign_headers
from ai_cs.notify.messages import Notice

TIMEOUT_SECONDS: Final = 10.0
MAX_ERROR_CHARS: Final = 300


class NotifyFailed(Exception):
    """The channel did not take the message (down, refused, misconfigured); retried later."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message[:MAX_ERROR_CHARS]


@dataclass(frozen=True)
class Request:
    """One HTTP POST a channel makes."""

    url: str
    body: bytes
    headers: dict[str, str]


class Channel(Protocol):
    """A place notices go."""

    @property
    def name(self) -> str:
        """``dingtalk``, ``feishu``, ``wecom`` or ``webhook``."""
        ...

    def request(self, notice: Notice, now_epoch: float) -> Request:
        """The POST that delivers ``notice`` (signed at ``now_epoch``)."""
        ...

    def check(self, response: httpx.Response) -> None:
        """Raise :class:`NotifyFailed` unless ``response`` says the message was taken."""
        ...


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


JSON_HEADERS: Final = {"Content-Type": "application/json; charset=utf-8"}


def _markdown_lines(notice: Notice) -> list[str]:
    lines = [f"- **{label}**：{value}" for label, value in notice.facts]
    return [*lines, "", f"**需要**：{notice.need}", "", f"[打开控制台]({notice.link})"]


def _require_zero(response: httpx.Response, field: str) -> None:
    """Raise :class:`NotifyFailed` unless the JSON answer has ``field`` 0 (or ``StatusCode``).

    The robots say no with HTTP 200 and a code, so a 2xx alone is not enough.
    """
    if not 200 <= response.status_code < 300:
        raise NotifyFailed(f"HTTP {response.status_code}: {response.text[:200]}")
    try:
        data = response.json()
    except ValueError:
        raise NotifyFailed(f"answer is not JSON: {response.text[:200]!r}") from None
    if not isinstance(data, dict):
        raise NotifyFailed(f"answer is not a JSON object: {response.text[:200]!r}")
    code = data.get(field, data.get("StatusCode"))
    if code != 0:
        message = data.get("errmsg") or data.get("msg") or data.get("StatusMessage") or ""
        raise NotifyFailed(f"{field} {code}: {message}")


@dataclass(frozen=True)
class _Robot:
    """A group robot: a JSON POST to its URL, answered HTTP 200 with a code that must be 0."""

    url: str

    code_field: ClassVar[str] = "errcode"
    """The answer's field that is 0 when the robot took the message."""

    def _post(self, body: object, url: str | None = None) -> Request:
        return Request(url or self.url, _json(body), JSON_HEADERS)

    def check(self, response: httpx.Response) -> None:
        """``code_field`` 0 or it failed (the robots say no with HTTP 200)."""
        _require_zero(response, self.code_field)


@dataclass(frozen=True)
class DingTalk(_Robot):
    """钉钉群机器人."""

    secret: str = ""
    name: str = "dingtalk"
    label: ClassVar[str] = "钉钉"

    def signed_url(self, now_epoch: float) -> str:
        """The robot URL with ``timestamp`` and ``sign`` when a 加签 secret is set."""
        if not self.secret:
            return self.url
        timestamp = str(int(now_epoch * 1000))
        digest = hmac.new(
            self.secret.encode(), f"{timestamp}\n{self.secret}".encode(), hashlib.sha256
        ).digest()
        sign = quote(base64.b64encode(digest).decode(), safe="")
        sep = "&" if "?" in self.url else "?"
        return f"{self.url}{sep}timestamp={timestamp}&sign={sign}"

    def request(self, notice: Notice, now_epoch: float) -> Request:
        """A markdown message."""
        text = "\n".join([f"#### {notice.title}", "", *_markdown_lines(notice)])
        body = {"msgtype": "markdown", "markdown": {"title": notice.title, "text": text}}
        return self._post(body, self.signed_url(now_epoch))


def feishu_sign(secret: str, timestamp: int) -> str:
    r"""Feishu's signature: HMAC-SHA256 keyed by ``"timestamp\nsecret"`` over an empty message."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


@dataclass(frozen=True)
class Feishu(_Robot):
    """飞书自定义机器人 (``code`` 0, or the older ``StatusCode`` 0, when it took the message)."""

    secret: str = ""
    name: str = "feishu"
    label: ClassVar[str] = "飞书"

    code_field: ClassVar[str] = "code"

    def request(self, notice: Notice, now_epoch: float) -> Request:
        """A rich-text ``post`` with the facts, what is needed and a link."""
        rows: list[list[dict[str, str]]] = [
            [{"tag": "text", "text": f"{label}：{value}"}] for label, value in notice.facts
        ]
        rows.append([{"tag": "text", "text": f"需要：{notice.need}"}])
        rows.append([{"tag": "a", "text": "打开控制台", "href": notice.link}])
        body: dict[str, object] = {
            "msg_type": "post",
            "content": {"post": {"zh_cn": {"title": notice.title, "content": rows}}},
        }
        if self.secret:
            timestamp = int(now_epoch)
            body = {
                "timestamp": str(timestamp),
                "sign": feishu_sign(self.secret, timestamp),
                **body,
            }
        return self._post(body)


@dataclass(frozen=True)
class WeCom(_Robot):
    """企业微信群机器人."""

    name: str = "wecom"
    label: ClassVar[str] = "企业微信"

    def request(self, notice: Notice, now_epoch: float) -> Request:
        """A markdown message (WeCom's dialect: no lists, quotes for the facts)."""
        del now_epoch
        facts = [f"> {label}：{value}" for label, value in notice.facts]
        content = "\n".join(
            [
                f"### {notice.title}",
                *facts,
                f"**需要**：{notice.need}",
                f"[打开控制台]({notice.link})",
            ]
        )
        body = {"msgtype": "markdown", "markdown": {"content": content[:4000]}}
        return self._post(body)


@dataclass(frozen=True)
class Webhook:
    """Any HTTP endpoint of the shop's: JSON, signed like the dispatch callbacks."""

    url: str
    secret: str = ""
    name: str = "webhook"
    label: ClassVar[str] = "Webhook"

    def request(self, notice: Notice, now_epoch: float) -> Request:
        """The notice as JSON; ``event_id`` lets the receiver drop a repeat."""
        body = _json(
            {
                "event_id": notice.event_id,
                "kind": notice.kind.value,
                "title": notice.title,
                "facts": dict(notice.facts),
                "need": notice.need,
                "link": notice.link,
                "subject": notice.subject,
                "created_at": notice.created_at,
            }
        )
        headers = dict(JSON_HEADERS)
        if self.secret:
            headers.update(sign_headers(self.secret.encode(), body, now_epoch))
        return Request(self.url, body, headers)

    def check(self, response: httpx.Response) -> None:
        """Any 2xx."""
        if not 200 <= response.status_code < 300:
            raise NotifyFailed(f"HTTP {response.status_code}: {response.text[:200]}")


CHANNEL_LABELS: Final = {kind.name: kind.label for kind in (DingTalk, Feishu, WeCom, Webhook)}
"""What staff call each channel (``label``), by its ``name``."""


def configured_channels(settings: Settings) -> dict[str, Channel]:
    """The channels whose URL is set, by name."""
    found: list[Channel] = []
    if settings.notify_dingtalk_url:
        found.append(DingTalk(settings.notify_dingtalk_url, settings.notify_dingtalk_secret))
    if settings.notify_feishu_url:
        found.append(Feishu(settings.notify_feishu_url, settings.notify_feishu_secret))
    if settings.notify_wecom_url:
        found.append(WeCom(settings.notify_wecom_url))
    if settings.notify_webhook_url:
        found.append(Webhook(settings.notify_webhook_url, settings.notify_webhook_secret))
    return {channel.name: channel for channel in found}


def send(client: httpx.Client, channel: Channel, notice: Notice, now_epoch: float) -> None:
    """POST ``notice`` to ``channel``; :class:`NotifyFailed` unless it was taken."""
    request = channel.request(notice, now_epoch)
    try:
        response = client.post(request.url, content=request.body, headers=request.headers)
    except httpx.HTTPError as exc:
        # httpx's messages may quote the URL, which holds the robot's token: name the error only.
        raise NotifyFailed(
            f"{type(exc).__name__}: cannot reach {CHANNEL_LABELS[channel.name]}"
        ) from None
    channel.check(response)
