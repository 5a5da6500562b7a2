"""Does a customer's chat turn confirm the delivered result, or ask for a revision?

Phrase tables, not a chain of ifs. A revision phrase wins over a confirmation phrase, because
"不满意" contains "满意"; negated or questioning confirmations ("还没收到", "收到了吗？") are
neither, so they reach the agent as ordinary questions.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final


class ResultReply(StrEnum):
    """What a customer said about a delivered result."""

    CONFIRM = "confirm"  # 确认收货
    REVISE = "revise"  # 要求修改
    OTHER = "other"


REVISION_PHRASES: Final = (
    "不满意",
    "重做",
    "再改",
    "重新做",
    "返工",
    "修改一下",
    "改一下",
    "不行",
    "不对",
    "有问题",
    "不好看",
)
CONFIRM_PHRASES: Final = (
    "确认",
    "收到",
    "满意",
    "可以了",
    "没问题",
    "完美",
    "很好",
    "好的谢谢",
)
NOT_CONFIRM_PHRASES: Final = (
    "没收到",
    "未收到",
    "收不到",
    "没有收到",
    "不确认",
    "还没",
    "怎么确认",
    "如何确认",
)
_QUESTION: Final = re.compile(r"(吗|么|呢)[?？!！。.\s]*$|[?？]\s*$")
_REVISION_WORDS: Final = re.compile(r"\b(redo|not (satisfied|happy)|revise|again)\b")
_CONFIRM_WORDS: Final = re.compile(r"\b(ok|okay|confirm(ed)?|received|looks good|perfect)\b")


def classify_result_reply(text: str) -> ResultReply:
    """Classify one (possibly merged) customer turn about a delivered result."""
    norm = " ".join(text.lower().split())
    if not norm:
        return ResultReply.OTHER
    if any(p in norm for p in REVISION_PHRASES) or _REVISION_WORDS.search(norm):
        return ResultReply.REVISE
    if any(p in norm for p in NOT_CONFIRM_PHRASES) or _QUESTION.search(norm):
        return ResultReply.OTHER
    if any(p in norm for p in CONFIRM_PHRASES) or _CONFIRM_WORDS.search(norm):
        return ResultReply.CONFIRM
    return ResultReply.OTHER
