"""Console labels: analysis fields in Chinese with human values; engine errors explained."""

from __future__ import annotations

from ai_cs.api.console_labels import (
    ERRORS,
    actor_label,
    analysis_rows,
    explain_error,
    explained,
    output_rows,
    platform_label,
    quote_rows,
)

STORED = {
    "complexity": "normal",
    "aspect_ratio": "4:3",
    "perspective": "no",
    "perspective_quad": None,
    "width": 640,
    "height": 480,
    "sharpness": 182.44,
    "blurry": False,
    "text_found": True,
    "text_chars": 12,
    "text_area_ratio": 0.18,
    "text": "新店开业\n全场八折",
    "red_seal": False,
    "stored_image": "images/ab/" + "a" * 64 + ".png",
    "image_sha256": "a" * 64,
    "output": {"format": "png", "extra_formats": ["pdf"], "background": "transparent"},
}


def test_analysis_rows_are_labelled_and_human() -> None:
    rows = dict(analysis_rows(STORED))
    assert rows["复杂度"] == "普通"
    assert rows["透视变形"] == "无" and rows["含文字"] == "有" and rows["红色印章"] == "无"
    assert rows["清晰程度"] == "清晰" and rows["清晰度评分"] == "182.4"
    assert rows["尺寸"] == "640 × 480 像素" and rows["文字面积占比"] == "18%"
    assert rows["识别到的文字"] == "新店开业\n全场八折"
    text = repr(analysis_rows(STORED))
    for raw in ("stored_image", "image_sha256", "perspective_quad", "normal", "False", "True"):
        assert raw not in text, raw


def test_output_quote_and_platform() -> None:
    assert output_rows(STORED) == [("交付格式", "PNG"), ("另附格式", "PDF"), ("背景", "透明")]
    assert output_rows({}) == []
    quote = {"items": [{"label": "去除背景（复杂）", "amount_fen": 1500}, {"amount_fen": 50}]}
    assert quote_rows(quote) == [("去除背景（复杂）", "¥15.00"), ("其他费用", "¥0.50")]
    assert platform_label("xianyu") == "闲鱼" and platform_label("pinduoduo") == "拼多多"


def test_errors_are_explained_by_code() -> None:
    timeout = explain_error("engine_timeout: vectorize took longer than 120 s")
    assert timeout is not None
    assert (timeout["what"], timeout["todo"]) == ERRORS["engine_timeout"]
    assert timeout["detail"].startswith("engine_timeout:")
    handed = explain_error("自动处理失败（3 次尝试）：quality_check_failed: edges too soft")
    assert handed is not None and handed["what"] == ERRORS["quality_check_failed"][0]
    lease = explain_error("lease expired (worker stopped)")
    assert lease is not None and "处理程序中途停止" in lease["what"]
    unknown = explain_error("weird_new_code: boom")
    assert unknown is not None and unknown["what"] == "自动处理出错"
    plain = explain_error("矢量化质量检查未通过")
    assert plain is not None and plain["what"] == "矢量化质量检查未通过"
    assert explain_error(None) is None and explain_error("  ") is None
    free = explain_error("customer wants it today")
    assert free is not None and (free["code"], free["what"]) == ("", "customer wants it today")


def test_timeline_words() -> None:
    assert actor_label("staff:客服小王") == "客服 客服小王"
    assert actor_label("system:worker") == "系统" and actor_label("partner:A店") == "合作系统 A店"
    assert actor_label("someone") == "someone"
    assert explained("自动处理失败（3 次尝试）：engine_timeout: slow") == (
        "自动处理失败（3 次尝试）：" + ERRORS["engine_timeout"][0]
    )
    assert explained("engine_timeout: slow") == ERRORS["engine_timeout"][0]
    assert explained("客户要手工精修") == "客户要手工精修" and explained(None) == ""
