"""Risk rules are a table: keywords, patterns, features, size and history decide."""

from __future__ import annotations

import pytest

from ai_cs.core.risk import (
    FORGERY_REQUEST_WORDS,
    RULES,
    Condition,
    Decision,
    RiskInput,
    RiskRule,
    When,
    assess_risk,
    normalize,
)
from ai_cs.core.tasks import Operation


def codes(inp: RiskInput) -> set[str]:
    return {r.code for r in assess_risk(inp).reasons}


def test_an_ordinary_picture_is_accepted():
    result = assess_risk(
        RiskInput(ocr_lines=["新店开业 全场八折", "Grand Opening"], width=1000, height=800)
    )
    assert result.decision is Decision.ACCEPT
    assert result.reasons == []
    assert result.accepted


def test_empty_input_is_accepted():
    assert assess_risk(RiskInput()).decision is Decision.ACCEPT


def test_rule_codes_are_unique_and_every_rule_has_a_message():
    names = [rule.code for rule in RULES]
    assert len(names) == len(set(names))
    assert all(rule.message and rule.when for rule in RULES)


# --- identity cards ---------------------------------------------------------------------------
@pytest.mark.parametrize("word", ["居民身份证", "公民身份号码", "身份证"])
def test_identity_card_words_need_review(word):
    result = assess_risk(RiskInput(ocr_lines=[f"中华人民共和国 {word}"]))
    assert result.decision is Decision.REVIEW
    assert "id_card" in codes(RiskInput(ocr_lines=[word]))


@pytest.mark.parametrize(
    "number", ["110101199003078615", "11010119900307861X", "11010119900307861x"]
)
def test_eighteen_digit_id_number_needs_review(number):
    inp = RiskInput(ocr_lines=[f"号码 {number}"])
    assert "id_number" in codes(inp)
    assert assess_risk(inp).decision is Decision.REVIEW


def test_id_number_split_by_ocr_spaces_is_still_found():
    assert "id_number" in codes(RiskInput(ocr_lines=["1101 0119 9003 0786 15"]))


@pytest.mark.parametrize("number", ["12345678901234567", "1234567890123456789012"])
def test_other_digit_runs_are_not_id_numbers(number):
    assert "id_number" not in codes(RiskInput(ocr_lines=[number]))


def test_id_card_number_is_not_reported_as_bank_card():
    found = codes(RiskInput(ocr_lines=["公民身份号码 110101199003078615"]))
    assert {"id_card", "id_number"} <= found
    assert "bank_card_number" not in found


# --- certificates, seals, bank cards, money ----------------------------------------------------
@pytest.mark.parametrize(
    "word", ["营业执照", "荣誉证书", "毕业证", "学位证", "驾驶证", "行驶证", "食品经营许可证"]
)
def test_certificates_need_review(word):
    inp = RiskInput(ocr_lines=[word])
    assert "certificate" in codes(inp)
    assert assess_risk(inp).decision is Decision.REVIEW


@pytest.mark.parametrize("word", ["公章", "合同专用章", "财务专用章"])
def test_seal_words_need_review(word):
    assert "seal_text" in codes(RiskInput(ocr_lines=[word]))


def test_red_seal_feature_needs_review():
    inp = RiskInput(red_seal=True)
    assert codes(inp) == {"red_seal"}
    assert assess_risk(inp).decision is Decision.REVIEW


@pytest.mark.parametrize("line", ["中国银联", "UnionPay", "VISA", "ＶＩＳＡ", "信用卡"])
def test_bank_card_words_need_review(line):
    assert "bank_card" in codes(RiskInput(ocr_lines=[line]))


@pytest.mark.parametrize(
    "number", ["6222020200112233", "62220202001122334", "6222 0202 0011 2233 445"]
)
def test_bank_card_numbers_need_review(number):
    assert "bank_card_number" in codes(RiskInput(ocr_lines=[number]))


def test_banknotes_are_declined_and_currency_word_reviewed():
    assert assess_risk(RiskInput(ocr_lines=["中国人民银行", "100"])).decision is Decision.DECLINE
    currency = assess_risk(RiskInput(ocr_lines=["价格 人民币 99 元"]))
    assert currency.decision is Decision.REVIEW
    assert {r.code for r in currency.reasons} == {"currency"}


# --- watermarks and stock photos -------------------------------------------------------------
@pytest.mark.parametrize(
    "mark",
    [
        "视觉中国",
        "shutterstock",
        "Getty Images",
        "gettyimages",
        "123RF",
        "千图网",
        "包图网",
        "摄图网",
    ],
)
def test_stock_photo_marks(mark):
    plain = RiskInput(ocr_lines=[mark])
    assert codes(plain) == {"stock_photo"}
    assert assess_risk(plain).decision is Decision.REVIEW
    removal = RiskInput(ocr_lines=[mark], request_text="帮我去水印")
    result = assess_risk(removal)
    assert result.decision is Decision.DECLINE
    assert result.reasons[0].code == "stock_watermark_removal"
    assert "watermark_removal" not in codes(removal)


@pytest.mark.parametrize("request_text", ["去水印", "把水印去掉 谢谢", "能去除水印吗"])
def test_watermark_removal_of_unknown_pictures_needs_review(request_text):
    result = assess_risk(RiskInput(request_text=request_text))
    assert result.decision is Decision.REVIEW
    assert {r.code for r in result.reasons} == {"watermark_removal"}


# --- forgery wording in the request -----------------------------------------------------------
@pytest.mark.parametrize("word", FORGERY_REQUEST_WORDS)
def test_every_forgery_word_declines(word):
    result = assess_risk(RiskInput(request_text=f"老板，帮我{word}一下"))
    assert result.decision is Decision.DECLINE
    assert result.reasons[0].code == "forgery_request"


@pytest.mark.parametrize(
    "request_text",
    ["帮我P公章", "p 公 章", "改 日 期", "能做假证吗", "把合同修改合同金额", "伪造一份"],
)
def test_forgery_wording_variants(request_text):
    assert assess_risk(RiskInput(request_text=request_text)).decision is Decision.DECLINE


@pytest.mark.parametrize("request_text", ["需要去掉背景", "高清一点", "改成透明背景", "做成矢量图"])
def test_ordinary_requests_are_fine(request_text):
    assert assess_risk(RiskInput(request_text=request_text)).decision is Decision.ACCEPT


@pytest.mark.parametrize(
    "request_text",
    [
        "帮我用模板做一个营业执照",
        "发票金额改成5000",
        "帮忙做个假的结婚证",
        "身份证上的日期帮我改下",
        "能不能仿一个学位证",
        "银行流水改一下余额",
        "把成绩单的分数改高点",
        "帮我把驾驶证名字换成我的",
        "p一个公章上去",
        "收据上的金额帮我改大一点",
    ],
)
def test_making_or_changing_a_document_in_words_declines(request_text):
    result = assess_risk(RiskInput(request_text=request_text))
    assert result.decision is Decision.DECLINE
    assert "document_forgery_request" in {r.code for r in result.reasons}


@pytest.mark.parametrize(
    "request_text",
    [
        "做个一寸证件照",
        "护照照片 白底的",
        "发票抠图 要png",
        "合同扫描件变清晰",
        "帮我做一个logo",
        "能开张发票吗",
        "身份证正反面拼一张",  # the picture side reviews an ID card; the words are no forgery
    ],
)
def test_documents_and_photos_without_forgery_are_fine(request_text):
    assert assess_risk(RiskInput(request_text=request_text)).decision is Decision.ACCEPT


def test_an_id_photo_from_a_document_is_looked_at_not_declined():
    result = assess_risk(RiskInput(request_text="用身份证上的照片做证件照"))
    assert result.decision is Decision.REVIEW
    assert {r.code for r in result.reasons} == {"id_photo_from_document"}


def test_removing_others_watermarks_declines_ones_own_is_reviewed():
    others = assess_risk(RiskInput(request_text="帮我去掉这张图的水印 网上下的"))
    assert others.decision is Decision.DECLINE
    own = assess_risk(RiskInput(request_text="去掉我自己照片的水印"))
    assert own.decision is Decision.REVIEW


def test_patterns_never_join_two_messages():
    # "…发票" ends one message and "改成…" starts the next: no forgery.
    joined = assess_risk(RiskInput(request_text="这是发票\n改成透明背景"))
    assert joined.decision is Decision.ACCEPT


def test_forged_certificate_combines_reasons_strongest_first():
    result = assess_risk(
        RiskInput(ocr_lines=["毕业证书"], red_seal=True, request_text="帮我改名字和日期")
    )
    assert result.decision is Decision.DECLINE
    decisions = [r.decision for r in result.reasons]
    assert decisions[0] is Decision.DECLINE
    assert decisions == sorted(decisions, key=lambda d: ["decline", "review", "accept"].index(d))
    assert {"forgery_request", "certificate", "red_seal"} <= {r.code for r in result.reasons}


# --- size ---------------------------------------------------------------------------------------
def test_unknown_size_is_not_judged():
    assert assess_risk(RiskInput(width=0, height=0, operation=Operation.VECTORIZE)).accepted


@pytest.mark.parametrize("operation", [*Operation, None])
def test_too_small_for_anything_declines(operation):
    result = assess_risk(RiskInput(width=20, height=500, operation=operation))
    assert result.decision is Decision.DECLINE
    assert {r.code for r in result.reasons} == {"too_small"}


@pytest.mark.parametrize(
    ("operation", "side", "expected"),
    [
        (Operation.VECTORIZE, 100, Decision.REVIEW),
        (Operation.REMOVE_BG, 149, Decision.REVIEW),
        (Operation.REMOVE_BG_AND_LAYER, 100, Decision.REVIEW),
        (Operation.REMOVE_BG, 150, Decision.ACCEPT),
        (Operation.ENHANCE, 100, Decision.ACCEPT),
        (Operation.ENHANCE, 63, Decision.REVIEW),
        (Operation.ENHANCE, 64, Decision.ACCEPT),
        (None, 40, Decision.ACCEPT),
    ],
)
def test_too_small_for_the_job(operation, side, expected):
    result = assess_risk(RiskInput(width=side, height=side * 2, operation=operation))
    assert result.decision is expected


# --- history --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("refunds", "declines", "expected"),
    [
        (0, 0, Decision.ACCEPT),
        (1, 0, Decision.ACCEPT),
        (2, 0, Decision.REVIEW),
        (4, 0, Decision.REVIEW),
        (5, 0, Decision.DECLINE),
        (0, 1, Decision.REVIEW),
        (0, 2, Decision.REVIEW),
        (0, 3, Decision.DECLINE),
        (9, 9, Decision.DECLINE),
    ],
)
def test_history(refunds, declines, expected):
    assert assess_risk(RiskInput(refunds=refunds, declines=declines)).decision is expected


def test_history_thresholds_do_not_double_report():
    assert codes(RiskInput(refunds=7)) == {"many_refunds"}
    assert codes(RiskInput(declines=5)) == {"repeated_declines"}


# --- the table is data --------------------------------------------------------------------------
def test_custom_rules_table():
    rules = (
        RiskRule(
            "no_cats",
            Decision.DECLINE,
            "不修猫",
            (Condition(When.OCR_KEYWORD, ("cat",)),),
            unless=(Condition(When.FEATURE, ("red_seal",)),),
        ),
    )
    assert assess_risk(RiskInput(ocr_lines=["A CAT"]), rules).decision is Decision.DECLINE
    assert assess_risk(RiskInput(ocr_lines=["A CAT"], red_seal=True), rules).accepted
    assert assess_risk(RiskInput(ocr_lines=["身份证"]), rules).accepted


def test_request_pattern_condition():
    rules = (
        RiskRule(
            "digits", Decision.REVIEW, "数字", (Condition(When.REQUEST_PATTERN, (r"\d{3}",)),)
        ),
    )
    assert assess_risk(RiskInput(request_text="改成 123"), rules).decision is Decision.REVIEW
    assert assess_risk(RiskInput(request_text="改成 12"), rules).accepted


def test_normalize():
    assert normalize(" Ｐ 公章\n") == "p公章"
    assert normalize("ＶＩＳＡ") == "visa"
