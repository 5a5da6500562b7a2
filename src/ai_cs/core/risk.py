"""Risk assessment as data (风险评估与接单判断): accept, review or decline a picture job.

The rules are one table, :data:`RULES`. A row names a decision, a stable ``code``, a message for
the shop (Chinese) and the conditions under which it fires: every condition in ``when`` must
hold and none in ``unless``. A condition is a kind (:class:`When`) plus values, so adding a
keyword or a rule is a change to the table, not to the code. The strongest decision among the
rows that fire wins (``decline`` > ``review`` > ``accept``); every row that fired is a reason.

What the rules look at (:class:`RiskInput`): the text the OCR read in the picture, features of
the picture (``red_seal``: a red circular stamp; width and height), the operation asked for,
the customer's request text and the customer's history (refunds, declines).

Matching is done on text normalised with NFKC (full-width letters and digits become ASCII),
lower-cased and stripped of whitespace, because OCR splits and spaces words unpredictably.

Pure: the standard library and pydantic only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, Field

from ai_cs.core.tasks import Operation
from ai_cs.core.text import normalise


class Decision(StrEnum):
    """Whether the shop takes the job (接单判断)."""

    ACCEPT = "accept"  # 接单
    REVIEW = "review"  # 人工审核
    DECLINE = "decline"  # 拒单


SEVERITY: Final[dict[Decision, int]] = {
    Decision.ACCEPT: 0,
    Decision.REVIEW: 1,
    Decision.DECLINE: 2,
}


class RiskInput(BaseModel):
    """Everything the rules look at; all fields optional so callers fill what they know."""

    ocr_lines: list[str] = Field(default_factory=list, description="Text lines read by the OCR.")
    red_seal: bool = Field(False, description="A red circular stamp (公章) was seen.")
    width: int = Field(0, ge=0, description="Picture width in pixels; 0 = unknown.")
    height: int = Field(0, ge=0, description="Picture height in pixels; 0 = unknown.")
    operation: Operation | None = None
    request_text: str = Field("", description="What the customer asked for, in their words.")
    refunds: int = Field(0, ge=0, description="The customer's refunded orders so far.")
    declines: int = Field(0, ge=0, description="The customer's declined requests so far.")


class RiskReason(BaseModel):
    """One rule that fired."""

    code: str
    message: str
    decision: Decision


class RiskAssessment(BaseModel):
    """The decision and every reason for it, strongest first."""

    decision: Decision
    reasons: list[RiskReason] = Field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """True when the job may go ahead without a human look."""
        return self.decision is Decision.ACCEPT


class When(StrEnum):
    """Kinds of conditions a rule can use."""

    OCR_KEYWORD = "ocr_keyword"  # any of the values occurs in the OCR text
    OCR_PATTERN = "ocr_pattern"  # any regular expression matches the OCR text
    REQUEST_KEYWORD = "request_keyword"  # any of the values occurs in the request text
    REQUEST_PATTERN = "request_pattern"  # any regular expression matches the request text
    FEATURE = "feature"  # every named boolean feature is true
    MIN_SIDE_BELOW = "min_side_below"  # the shorter side is known and below ``number``
    OPERATION_IN = "operation_in"  # the operation is one of the values
    REFUNDS_AT_LEAST = "refunds_at_least"
    DECLINES_AT_LEAST = "declines_at_least"


@dataclass(frozen=True)
class Condition:
    """One test of a rule: a kind and its values (keywords, patterns, names) or a number."""

    kind: When
    values: tuple[str, ...] = ()
    number: int = 0


@dataclass(frozen=True)
class RiskRule:
    """One row of the risk table."""

    code: str
    decision: Decision
    message: str
    when: tuple[Condition, ...]
    unless: tuple[Condition, ...] = ()


def normalize(text: str) -> str:
    """Text as the rules compare it: NFKC, lower case, no whitespace."""
    return normalise(text).replace(" ", "")


@dataclass(frozen=True)
class _Facts:
    ocr: str
    request: str
    inp: RiskInput


def _keyword(haystack: str, values: tuple[str, ...]) -> bool:
    return any(normalize(value) in haystack for value in values)


def _pattern(haystack: str, values: tuple[str, ...]) -> bool:
    return any(re.search(value, haystack) for value in values)


def _feature(facts: _Facts, values: tuple[str, ...]) -> bool:
    return all(bool(getattr(facts.inp, name, False)) for name in values)


def _min_side_below(facts: _Facts, number: int) -> bool:
    if facts.inp.width <= 0 or facts.inp.height <= 0:
        return False
    return min(facts.inp.width, facts.inp.height) < number


def _operation_in(facts: _Facts, values: tuple[str, ...]) -> bool:
    return facts.inp.operation is not None and facts.inp.operation.value in values


_CHECKS: Final[dict[When, Callable[[Condition, _Facts], bool]]] = {
    When.OCR_KEYWORD: lambda c, f: _keyword(f.ocr, c.values),
    When.OCR_PATTERN: lambda c, f: _pattern(f.ocr, c.values),
    When.REQUEST_KEYWORD: lambda c, f: _keyword(f.request, c.values),
    When.REQUEST_PATTERN: lambda c, f: _pattern(f.request, c.values),
    When.FEATURE: lambda c, f: _feature(f, c.values),
    When.MIN_SIDE_BELOW: lambda c, f: _min_side_below(f, c.number),
    When.OPERATION_IN: lambda c, f: _operation_in(f, c.values),
    When.REFUNDS_AT_LEAST: lambda c, f: f.inp.refunds >= c.number,
    When.DECLINES_AT_LEAST: lambda c, f: f.inp.declines >= c.number,
}


# --- vocabulary ------------------------------------------------------------------------------
ID_CARD_WORDS: Final = ("居民身份证", "公民身份号码", "身份证")
# 17 digits and a digit or check letter X, not part of a longer number (lower-cased text).
ID_NUMBER_PATTERN: Final = r"(?<![0-9])[0-9]{17}[0-9x](?![0-9])"
CERTIFICATE_WORDS: Final = (
    "营业执照",
    "证书",
    "毕业证",
    "学位证",
    "驾驶证",
    "行驶证",
    "许可证",
    "结婚证",
    "离婚证",
    "户口簿",
    "护照",
    "房产证",
    "不动产权",
    "学生证",
    "准考证",
    "成绩单",
    "录取通知书",
    "社会保障卡",
    "诊断证明",
)
SEAL_WORDS: Final = ("公章", "专用章", "合同章", "财务章", "法人章", "印章")
BANK_CARD_WORDS: Final = ("银联", "unionpay", "visa", "mastercard", "信用卡", "借记卡")
BANK_CARD_PATTERN: Final = r"(?<![0-9])[0-9]{16,19}(?![0-9])"
BANKNOTE_WORDS: Final = ("中国人民银行",)
CURRENCY_WORDS: Final = ("人民币",)
STOCK_PHOTO_WORDS: Final = (
    "视觉中国",
    "shutterstock",
    "gettyimages",
    "getty images",
    "istock",
    "123rf",
    "dreamstime",
    "depositphotos",
    "adobe stock",
    "千图网",
    "包图网",
    "摄图网",
    "昵图网",
    "汇图网",
    "站酷海洛",
)
WATERMARK_REQUEST_WORDS: Final = (
    "去水印",
    "去掉水印",
    "去除水印",
    "消除水印",
    "水印去掉",
    "擦水印",
)
FORGERY_REQUEST_WORDS: Final = (
    "改日期",
    "改名字",
    "p公章",
    "p章",
    "p个章",
    "做假证",
    "假证",
    "伪造",
    "仿造",
    "造假",
    "假章",
    "刻章",
    "改成绩",
    "改分数",
    "改金额",
    "改余额",
    "改流水",
    "修改合同",
    "改合同",
    "改发票",
    "改身份证",
    "改证件",
    "改学历",
)
DOCUMENT_WORDS: Final = (
    "营业执照|执照|毕业证|学位证|学历|结婚证|离婚证|身份证|户口本|户口簿|驾驶证|驾照|行驶证|"
    "房产证|不动产|发票|收据|公章|印章|合同|成绩单|分数|流水|余额|病假条|假条|病历|诊断|体检|"
    "证明|证书|护照(?!照)|签证(?!照)|准考证|学生证|录取通知书|工作证|工牌|银行卡|转账记录|聊天记录|核酸|"
    "健康码|行程码|资格证|许可证|公函|红头文件|证件(?!照)|执业证|房本|车牌"
)
"""Documents, certificates and records whose content must never be made up or changed."""
ALTER_WORDS: Final = (
    r"改|(?<![a-z])ps?(?![a-z])|换成|换个名|换名|伪造|仿|做一?[个张份]|弄一?[个张份]|生成|制作|套|造|"
    r"刻|[加盖]一?个?章|编一?[个张份]|p[一个上]"
)
"""Verbs of making up or changing a document (matched on normalised text: NFKC, lower case)."""
FORGERY_REQUEST_PATTERNS: Final = (
    rf"(?:{DOCUMENT_WORDS}).{{0,14}}(?:{ALTER_WORDS})",
    rf"(?:{ALTER_WORDS}).{{0,14}}(?:{DOCUMENT_WORDS})",
)
"""A document named with a verb of making or changing it, in either order ("发票金额改成…",
"帮我做个假的结婚证")."""
ID_PHOTO_WORDS: Final = (
    "证件照",
    "寸照",
    "一寸",
    "二寸",
    "1寸",
    "2寸",
    "换底色",
    "底色",
    "护照照片",
    "签证照",
    "简历照",
)
"""An ID photo (证件照) made from one's own picture: a shop job, looked at by staff when it names
a document ("用身份证上的照片做证件照")."""
WATERMARK_REMOVAL_PATTERNS: Final = (
    r"水印.{0,6}(?:去|擦|删|抹|消|p|弄掉|拿掉|干掉)",
    r"(?:去|擦|删|抹|消除|p掉|弄掉|拿掉|干掉).{0,10}水印",
    r"(?:remove|erase|delete).{0,20}watermark",
)
OTHERS_CONTENT_WORDS: Final = (
    "网上",
    "别人",
    "别家",
    "他人",
    "店家",
    "商家",
    "同行",
    "图库",
    "下载",
    "下的",
    "抖音",
    "小红书",
    "快手",
    "淘宝",
    "截图",
    "logo",
    "stock",
    "视觉中国",
)
"""Words saying a picture is somebody else's (its watermark is theirs to keep)."""
LAYOUT_OPERATIONS: Final = ("remove_bg", "remove_bg_and_layer", "vectorize")

C = Condition
R = Decision.REVIEW
D = Decision.DECLINE


def _count_rules(
    count: When, *, decline: tuple[str, int, str], review: tuple[str, int, str]
) -> tuple[RiskRule, RiskRule]:
    """Two rows on one count of the customer's history, each given as (code, threshold, message).

    ``decline`` fires from its threshold on, ``review`` from its lower one up to the decline's:
    where the decline fires, the review row stands aside.
    """
    decline_code, decline_at, decline_message = decline
    review_code, review_at, review_message = review
    declined = C(count, number=decline_at)
    return (
        RiskRule(decline_code, D, decline_message, (declined,)),
        RiskRule(review_code, R, review_message, (C(count, number=review_at),), unless=(declined,)),
    )


RULES: Final[tuple[RiskRule, ...]] = (
    # --- the request itself -----------------------------------------------------------------
    RiskRule(
        "forgery_request",
        D,
        "客户要求修改证件/日期/金额/印章等内容，涉嫌伪造，不接单",
        (C(When.REQUEST_KEYWORD, FORGERY_REQUEST_WORDS),),
    ),
    RiskRule(
        "document_forgery_request",
        D,
        "客户要求制作或修改证件/票据/印章等文件内容，涉嫌伪造，不接单",
        (C(When.REQUEST_PATTERN, FORGERY_REQUEST_PATTERNS),),
        unless=(C(When.REQUEST_KEYWORD, ID_PHOTO_WORDS),),
    ),
    RiskRule(
        "id_photo_from_document",
        R,
        "客户要用证件上的照片做证件照，需人工确认是本人照片",
        (C(When.REQUEST_PATTERN, (DOCUMENT_WORDS,)), C(When.REQUEST_KEYWORD, ID_PHOTO_WORDS)),
    ),
    RiskRule(
        "others_watermark_removal",
        D,
        "客户要求去掉他人图片的水印，侵犯版权，不接单",
        (
            C(When.REQUEST_PATTERN, WATERMARK_REMOVAL_PATTERNS),
            C(When.REQUEST_KEYWORD, OTHERS_CONTENT_WORDS),
        ),
    ),
    RiskRule(
        "stock_watermark_removal",
        D,
        "图库图片（带图库水印）要求去水印，侵犯版权，不接单",
        (C(When.REQUEST_KEYWORD, WATERMARK_REQUEST_WORDS), C(When.OCR_KEYWORD, STOCK_PHOTO_WORDS)),
    ),
    RiskRule(
        "watermark_removal",
        R,
        "客户要求去水印，需确认图片版权归客户所有",
        (C(When.REQUEST_PATTERN, WATERMARK_REMOVAL_PATTERNS),),
        unless=(
            C(When.OCR_KEYWORD, STOCK_PHOTO_WORDS),
            C(When.REQUEST_KEYWORD, OTHERS_CONTENT_WORDS),
        ),
    ),
    # --- what the picture shows ---------------------------------------------------------------
    RiskRule(
        "banknote",
        D,
        "图片为人民币票样（中国人民银行），不处理货币图片",
        (C(When.OCR_KEYWORD, BANKNOTE_WORDS),),
    ),
    RiskRule(
        "currency", R, "图片含“人民币”字样，需人工确认", (C(When.OCR_KEYWORD, CURRENCY_WORDS),)
    ),
    RiskRule("id_card", R, "图片疑似身份证件，需人工审核", (C(When.OCR_KEYWORD, ID_CARD_WORDS),)),
    RiskRule(
        "id_number",
        R,
        "图片含 18 位身份证号码，需人工审核",
        (C(When.OCR_PATTERN, (ID_NUMBER_PATTERN,)),),
    ),
    RiskRule(
        "certificate",
        R,
        "图片疑似证书/执照/证件，需人工审核",
        (C(When.OCR_KEYWORD, CERTIFICATE_WORDS),),
    ),
    RiskRule("seal_text", R, "图片含印章字样，需人工审核", (C(When.OCR_KEYWORD, SEAL_WORDS),)),
    RiskRule("red_seal", R, "图片含红色圆形印章，需人工审核", (C(When.FEATURE, ("red_seal",)),)),
    RiskRule("bank_card", R, "图片疑似银行卡，需人工审核", (C(When.OCR_KEYWORD, BANK_CARD_WORDS),)),
    RiskRule(
        "bank_card_number",
        R,
        "图片含 16-19 位卡号，疑似银行卡，需人工审核",
        (C(When.OCR_PATTERN, (BANK_CARD_PATTERN,)),),
        # An 18-digit number on an identity card is reported as the id number instead.
        unless=(C(When.OCR_KEYWORD, ID_CARD_WORDS),),
    ),
    RiskRule(
        "stock_photo",
        R,
        "图片带图库水印（视觉中国/Shutterstock 等），需确认授权",
        (C(When.OCR_KEYWORD, STOCK_PHOTO_WORDS),),
    ),
    # --- size against the job -----------------------------------------------------------------
    RiskRule(
        "too_small",
        D,
        "图片太小（短边不足 32 像素），无法处理",
        (C(When.MIN_SIDE_BELOW, number=32),),
    ),
    RiskRule(
        "too_small_for_layout",
        R,
        "图片偏小（短边不足 150 像素），抠图/分层/矢量效果难保证",
        (C(When.MIN_SIDE_BELOW, number=150), C(When.OPERATION_IN, LAYOUT_OPERATIONS)),
        unless=(C(When.MIN_SIDE_BELOW, number=32),),
    ),
    RiskRule(
        "too_small_for_enhance",
        R,
        "图片偏小（短边不足 64 像素），增强效果难保证",
        (C(When.MIN_SIDE_BELOW, number=64), C(When.OPERATION_IN, ("enhance",))),
        unless=(C(When.MIN_SIDE_BELOW, number=32),),
    ),
    # --- the customer's history ---------------------------------------------------------------
    *_count_rules(
        When.REFUNDS_AT_LEAST,
        decline=("many_refunds", 5, "该客户退款次数过多（≥5 次），不接单"),
        review=("refunds", 2, "该客户有多次退款记录（≥2 次），需人工确认"),
    ),
    *_count_rules(
        When.DECLINES_AT_LEAST,
        decline=("repeated_declines", 3, "该客户多次被拒单（≥3 次），不接单"),
        review=("declines", 1, "该客户曾被拒单，需人工确认"),
    ),
)
"""The shop's risk table, checked top to bottom; reasons keep this order within a decision."""


def _holds(condition: Condition, facts: _Facts) -> bool:
    return _CHECKS[condition.kind](condition, facts)


def assess_risk(inp: RiskInput, rules: Sequence[RiskRule] = RULES) -> RiskAssessment:
    """Run every rule over ``inp``; the strongest decision wins, every fired rule is a reason."""
    facts = _Facts(
        ocr="\n".join(normalize(line) for line in inp.ocr_lines),
        # One line per message: a pattern never joins words of two different messages.
        request="\n".join(normalize(line) for line in inp.request_text.splitlines()),
        inp=inp,
    )
    fired = [
        rule
        for rule in rules
        if all(_holds(c, facts) for c in rule.when)
        and not any(_holds(c, facts) for c in rule.unless)
    ]
    # Stable sort: strongest decision first, table order within a decision.
    fired.sort(key=lambda rule: -SEVERITY[rule.decision])
    decision = fired[0].decision if fired else Decision.ACCEPT
    return RiskAssessment(
        decision=decision,
        reasons=[RiskReason(code=r.code, message=r.message, decision=r.decision) for r in fired],
    )
