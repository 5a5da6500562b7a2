"""What staff read on the console instead of field names and engine codes (人话).

A task row stores the analysis as JSON (``complexity``, ``perspective_quad``, ``stored_image``…)
and an attempt's error as ``"<code>: <engine message>"``. The console shows neither as stored:
each analysis field a person needs gets a Chinese label and a readable value, internal fields
(the stored copy's key, the picture's hash, the perspective corners) are not shown, and an error
is explained from a table keyed by its code — what happened and what staff can do about it —
with the engine's own words kept underneath for whoever debugs it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from ai_cs.core.money import yuan_fixed
from ai_cs.core.pricing import COMPLEXITY_LABELS, Complexity
from ai_cs.notify.messages import PLATFORM_LABELS

HIDDEN_FIELDS: Final = frozenset(
    {"stored_image", "image_sha256", "perspective_quad", "width", "height", "output"}
)
"""Analysis fields kept for the system (the picture itself, its hash, the corners the
perspective fix uses; width and height are shown together as 尺寸; ``output`` has its own card)."""


def _yes_no(value: object) -> str:
    if isinstance(value, str):
        return {"yes": "有", "no": "无", "true": "有", "false": "无"}.get(value.lower(), value)
    return "有" if value else "无"


def _blurry(value: object) -> str:
    return "模糊" if value is True or value == "yes" else "清晰"


def _complexity(value: object) -> str:
    try:
        return COMPLEXITY_LABELS[Complexity(str(value))]
    except ValueError:
        return str(value)


def _number(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def _ratio(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value * 100:.0f}%"
    return str(value)


def _lines(value: object) -> str:
    if isinstance(value, list | tuple):
        return "\n".join(str(v) for v in value if str(v).strip()) or "—"
    return str(value).strip() or "—"


def _resolution(value: object) -> str:
    return str(value).replace("x", " × ") + " 像素" if value else "—"


ANALYSIS_FIELDS: Final[dict[str, tuple[str, Callable[[object], str]]]] = {
    "complexity": ("复杂度", _complexity),
    "resolution": ("尺寸", _resolution),
    "aspect_ratio": ("比例", str),
    "megapixels": ("像素（百万）", _number),
    "perspective": ("透视变形", _yes_no),
    "sharpness": ("清晰度评分", _number),
    "blurry": ("清晰程度", _blurry),
    "text_found": ("含文字", _yes_no),
    "text_chars": ("文字字数", lambda v: f"{v} 字"),
    "text_area_ratio": ("文字面积占比", _ratio),
    "text": ("识别到的文字", _lines),
    "text_lines": ("识别到的文字", _lines),
    "red_seal": ("红色印章", _yes_no),
}


def _formats(value: object) -> str:
    if isinstance(value, list | tuple):
        return "、".join(str(f).upper() for f in value)
    return str(value).upper()


FIT_LABELS: Final = {"crop": "裁切铺满", "pad": "留白补边", "stretch": "拉伸"}
OUTPUT_FIELDS: Final[dict[str, tuple[str, Callable[[object], str]]]] = {
    "format": ("交付格式", lambda v: str(v).upper()),
    "extra_formats": ("另附格式", lambda v: _formats(v)),
    "background": ("背景", lambda v: "透明" if v == "transparent" else str(v)),
    "size": ("输出尺寸", _resolution),
    "print": ("打印尺寸", str),
    "dpi": ("分辨率 DPI", str),
    "fit": ("尺寸不符时", lambda v: FIT_LABELS.get(str(v), str(v))),
    "max_kb": ("文件不超过", lambda v: f"{v} KB"),
    "min_kb": ("文件不小于", lambda v: f"{v} KB"),
    "quality": ("JPEG 质量", str),
}


def analysis_rows(requirements: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The analysis as ``(label, value)`` rows in a fixed order; internal fields left out.

    ``resolution`` stands in for ``width``/``height`` when the row has no resolution. Fields
    this table does not know are left out too: a label-less field is no help to staff.
    """
    values = dict(requirements)
    if not values.get("resolution") and values.get("width") and values.get("height"):
        values["resolution"] = f"{values['width']}x{values['height']}"
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name, (label, show) in ANALYSIS_FIELDS.items():
        value = values.get(name)
        if value is None or value == "" or label in seen:
            continue
        if name == "text" and not values.get("text_found"):
            continue
        seen.add(label)
        rows.append((label, show(value)))
    return rows


def output_rows(requirements: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What the customer asked the deliverable to be (``requirements.output``), labelled."""
    output = requirements.get("output")
    if not isinstance(output, Mapping):
        return []
    return [
        (label, show(output[name]))
        for name, (label, show) in OUTPUT_FIELDS.items()
        if output.get(name) not in (None, "", [])
    ]


def quote_rows(quote: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The quote's line items as ``(label, ¥amount)``; items without a label say 其他费用."""
    rows = []
    for item in quote.get("items") or []:
        if not isinstance(item, Mapping):
            continue
        amount = item.get("amount_fen")
        money = f"¥{yuan_fixed(amount)}" if isinstance(amount, int) else "—"
        rows.append((str(item.get("label") or "其他费用"), money))
    return rows


def platform_label(platform: object) -> str:
    """``xianyu`` → 闲鱼; unknown platforms as they are."""
    return PLATFORM_LABELS.get(str(platform), str(platform or "—"))


ACTOR_SCOPES: Final = {
    "staff": "客服",
    "admin": "管理员",
    "partner": "合作系统",
    "designer": "设计师",
    "system": "系统",
}


def actor_label(actor: object) -> str:
    """``staff:客服小王`` → ``客服 客服小王``; ``system:worker`` → ``系统``."""
    scope, sep, name = str(actor or "").partition(":")
    if not sep or scope not in ACTOR_SCOPES:
        return str(actor or "—")
    if scope == "system":
        return ACTOR_SCOPES[scope]
    return f"{ACTOR_SCOPES[scope]} {name}".strip()


def explained(text: object) -> str:
    """A stored reason or error for a timeline: its explanation first when it has a code."""
    why = explain_error(text)
    if why is None:
        return ""
    if not why["code"]:
        return why["detail"]
    head = why["detail"].split("：", 1)[0] if "：" in why["detail"] else ""
    return f"{head}：{why['what']}" if head and head != why["detail"] else why["what"]


# ------------------------------------------------------------------------------ errors
ERRORS: Final[dict[str, tuple[str, str]]] = {
    "engine_timeout": (
        "处理引擎超时，图片没有处理完",
        "点「重新处理」再试一次；连续超时请转人工设计师",
    ),
    "engine_not_configured": (
        "这种处理需要的外部引擎没有配置",
        "转人工设计师处理，并请管理员检查引擎配置",
    ),
    "unknown_preset": ("引擎不认识这个处理方式", "修改操作类型后重新处理，或转人工设计师"),
    "image_unreadable": ("引擎读不出这张图片", "请客户重新发一张原图，或转人工设计师"),
    "unsafe_svg": ("生成的矢量图含不安全内容，已拦截", "重新处理一次；仍失败请转人工设计师"),
    "quality_check_failed": (
        "结果没有通过质量检查（效果不达标）",
        "转人工设计师精修，或修改操作类型后重新处理",
    ),
    "processing_failed": ("自动处理失败", "点「重新处理」再试一次，或转人工设计师"),
    "image_too_large": ("图片文件太大（超过 20 MB）", "请客户发压缩后的图片"),
    "too_many_pixels": ("图片像素太多（超过 4000 万像素）", "请客户发小一些的图片"),
    "decode_too_costly": ("图片太大，解码会占用过多内存", "请客户发小一些的图片"),
    "decompression_bomb": ("图片文件异常（疑似恶意构造）", "不要处理，请客户重新发图"),
    "extreme_aspect_ratio": ("图片长宽比例过于极端", "请客户裁剪后重新发送"),
    "empty_file": ("图片文件是空的", "请客户重新发送图片"),
    "truncated_image": ("图片文件不完整（传输中断）", "请客户重新发送图片"),
    "corrupt_image": ("图片文件已损坏", "请客户重新发送图片"),
    "unsupported_format": ("不支持这种图片格式", "请客户发 JPG 或 PNG 格式的图片"),
    "file_not_found": ("找不到原图文件", "请客户重新发送图片，或转人工设计师"),
    "url_not_allowed": ("原图链接不允许下载（非公网地址）", "请客户在聊天里直接发图片"),
    "fetch_failed": ("原图下载失败（链接失效或网络问题）", "请客户重新发送图片后重新处理"),
    "image_rejected": ("图片没有通过检查", "请客户换一张图片"),
    "lease expired": (
        "处理程序中途停止（重启或崩溃），这次尝试作废",
        "系统会自动重试；若已用完重试次数会转人工",
    ),
}
_CODE: Final = re.compile(r"^\s*(lease expired|[a-z][a-z_]*[a-z])\b")


def explain_error(text: object) -> dict[str, str] | None:
    """``{"what", "todo", "detail"}`` for a stored error; None when there is none.

    The code is the text's first word (``"engine_timeout: …"``) or found inside a hand-off
    reason (``"自动处理失败（3 次尝试）：engine_timeout: …"``). An unknown code still gets a
    plain explanation; the raw words go in ``detail`` only.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    tail = text.split("：", 1)[1] if "：" in text and not _CODE.match(text) else text
    match = _CODE.match(tail)
    # A code is a known one, or a word followed by ":" (how the worker writes "<code>: …");
    # a staff member's free text that happens to start with a word is not a code.
    code = (
        match.group(1)
        if match and (match.group(1) in ERRORS or tail[match.end() :].startswith(":"))
        else ""
    )
    what, todo = ERRORS.get(
        code,
        (text.strip(), "查看下面的详细信息；需要时转人工设计师")
        if not code
        else ("自动处理出错", "点「重新处理」再试一次，或转人工设计师"),
    )
    return {"what": what, "todo": todo, "detail": text.strip(), "code": code}
