"""A notice as people read it: a title naming the subject, the facts, what is needed, a link.

The same :class:`Notice` is written out by each channel in its own format (DingTalk and WeCom
markdown, a Feishu post, JSON for the webhook). Text from customers (nicknames, reasons) is
flattened to one line and stripped of markdown syntax, so a buyer called ``[点我](http://…)``
cannot put a link or a heading into the shop's group chat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

from ai_cs.core.money import yuan
from ai_cs.core.operations import OPERATIONS
from ai_cs.core.tasks import Operation
from ai_cs.notify.events import NotifyKind

PLATFORM_LABELS: Final = {"xianyu": "闲鱼", "taobao": "淘宝", "pinduoduo": "拼多多"}

KIND_TEXT: Final[dict[NotifyKind, tuple[str, str]]] = {
    NotifyKind.HANDED_TO_DESIGNER: (
        "转设计师",
        "请确认设计师已接单；做好后在任务页看一眼结果再交付。",
    ),
    NotifyKind.PROCESSING_FAILED: (
        "自动处理失败",
        "自动处理重试已用完，任务已转给设计师；请跟进进度，必要时先和客户说明。",
    ),
    NotifyKind.RISK_REVIEW: (
        "待审核",
        "这张图需要人工判断：请看图和原因，决定接单还是婉拒，并回复客户。",
    ),
    NotifyKind.DECLINED: (
        "已拒单",
        "AI 已婉拒这单；如果是误判，请接管会话联系客户。",
    ),
    NotifyKind.NEEDS_HUMAN: (
        "客户找人工",
        "客户在等人回复：请接管会话处理。",
    ),
    NotifyKind.ACCOUNT_NEEDS_VERIFICATION: (
        "店铺需要验证",
        "平台要求验证身份：请在手机或电脑上登录这个账号完成验证，再到店铺账号页粘贴新的 Cookie。",
    ),
    NotifyKind.ACCOUNT_LOGGED_OUT: (
        "店铺登录过期",
        "登录已失效，买家的消息暂时收不到：请在浏览器重新登录这个账号，"
        "再到店铺账号页粘贴新的 Cookie。",
    ),
    NotifyKind.ACCOUNT_OFFLINE: (
        "店铺掉线",
        "店铺连接断了，买家的消息暂时收不到：请到店铺账号页看原因；"
        "若是登录问题，重新登录后粘贴新的 Cookie。",
    ),
    NotifyKind.PAID: ("新订单已付款", "已自动开始处理，不需要操作。"),
    NotifyKind.TEST: ("测试消息", "通知配置正确，不需要操作。"),
}
"""Per kind: the word in the title and what a person has to do."""

ACCOUNT_KINDS: Final = frozenset(
    {
        NotifyKind.ACCOUNT_NEEDS_VERIFICATION,
        NotifyKind.ACCOUNT_LOGGED_OUT,
        NotifyKind.ACCOUNT_OFFLINE,
    }
)
"""Notices about a shop account: the account is the subject (named by nick and id)."""

_MARKDOWN: Final = str.maketrans({"[": "［", "]": "］", "#": "＃", ">": "＞", "<": "＜", "`": "'"})
"""Links, headings, quotes, HTML and code; ``_`` and ``*`` stay (task ids have underscores)."""


def plain(text: object) -> str:
    """One line of customer-supplied text with no markdown syntax left in it."""
    return " ".join(str(text).split()).translate(_MARKDOWN)


@dataclass(frozen=True)
class Notice:
    """One notification, ready to be written in a channel's format."""

    event_id: int
    kind: NotifyKind
    title: str
    facts: tuple[tuple[str, str], ...]
    need: str
    link: str
    created_at: str
    subject: dict[str, Any]


def _operation_label(value: object) -> str:
    try:
        return OPERATIONS[Operation(str(value))].staff_label
    except (ValueError, KeyError):
        return plain(value)


def _shop(payload: dict[str, Any]) -> str:
    account = plain(payload.get("account_id", ""))
    nick = plain(payload.get("account_nick") or "")
    platform = payload.get("platform")
    where = PLATFORM_LABELS.get(str(platform), plain(platform)) if platform else ""
    if nick:
        return f"{nick}（{where} {account}）" if where else f"{nick}（{account}）"
    return f"{account}（{where}）" if where else account


def link_path(payload: dict[str, Any]) -> str:
    """The console page of the notice's subject: task, else conversation, else accounts."""
    if payload.get("task_id"):
        return f"/console/tasks/{quote(str(payload['task_id']), safe='')}"
    if payload.get("conversation_id"):
        return f"/console/conversations/{quote(str(payload['conversation_id']), safe='')}"
    if payload.get("account_id"):
        return "/console/accounts"
    return "/console/"


def render(
    event_id: int, kind: NotifyKind, payload: dict[str, Any], created_at: str, base_url: str
) -> Notice:
    """The :class:`Notice` of a stored event, linking under ``base_url``."""
    word, need = KIND_TEXT[kind]
    if payload.get("task_id"):
        subject = f"订单 {plain(payload['task_id'])}"
    elif kind in ACCOUNT_KINDS:
        subject = f"店铺 {_shop(payload)}"
    elif payload.get("customer"):
        subject = f"客户 {plain(payload['customer'])}"
    else:
        subject = "天网协作"
    facts: list[tuple[str, str]] = []
    if payload.get("task_id") and payload.get("customer"):
        facts.append(("客户", plain(payload["customer"])))
    if payload.get("operation"):
        facts.append(("操作", _operation_label(payload["operation"])))
    price = payload.get("price_fen")
    if isinstance(price, int):
        facts.append(("金额", f"{yuan(price)} 元"))
    if payload.get("account_id") and not subject.startswith("店铺"):
        facts.append(("店铺", _shop(payload)))
    if payload.get("reason"):
        facts.append(("原因", plain(payload["reason"])))
    return Notice(
        event_id=event_id,
        kind=kind,
        title=f"【{word}】{subject}",
        facts=tuple(facts),
        need=need,
        link=f"{base_url.rstrip('/')}{link_path(payload)}",
        created_at=created_at,
        subject={
            k: payload[k]
            for k in ("task_id", "conversation_id", "account_id", "platform")
            if payload.get(k)
        },
    )
