"""Reading customer messages: intents, operation, slots, task ids, notes."""

from __future__ import annotations

import pytest

from ai_cs.agent.phrases import INTENT_PHRASES, Intent
from ai_cs.agent.understanding import find_intents, note_text, read_message, split_picture_marker
from ai_cs.core.tasks import Operation

I = Intent  # noqa: E741 - short alias for the table below


@pytest.mark.parametrize(
    ("text", "intents", "operation"),
    [
        ("你好，在吗", {I.GREETING}, None),
        ("抠图多少钱", {I.REMOVE_BG, I.ASK_PRICE}, Operation.REMOVE_BG),
        ("要白底的", {I.REMOVE_BG}, Operation.REMOVE_BG),
        ("图片太模糊了，能变清晰吗", {I.ENHANCE}, Operation.ENHANCE),
        ("帮我去模糊修复一下", {I.ENHANCE}, Operation.ENHANCE),
        ("能转矢量吗，要AI格式", {I.VECTORIZE}, Operation.VECTORIZE),
        ("要 SVG", {I.VECTORIZE}, Operation.VECTORIZE),
        ("描图", {I.VECTORIZE}, Operation.VECTORIZE),
        ("要分层的PSD", {I.LAYERED}, Operation.REMOVE_BG_AND_LAYER),
        ("抠图，还要分层", {I.REMOVE_BG, I.LAYERED, I.ADD_DETAIL}, Operation.REMOVE_BG_AND_LAYER),
        ("帮我找这张的高清原图", {I.FIND_IMAGE}, None),
        ("改成要分层文件", {I.CHANGE, I.LAYERED}, Operation.REMOVE_BG_AND_LAYER),
        ("对了，要高清一点", {I.ADD_DETAIL, I.ENHANCE}, Operation.ENHANCE),
        ("另外背景要纯白", {I.ADD_DETAIL}, None),
        ("进度怎么样了", {I.ASK_PROGRESS}, None),
        ("好了吗？", {I.ASK_PROGRESS}, None),
        ("确认收货", {I.CONFIRM}, None),
        ("很满意，谢谢", {I.CONFIRM, I.THANKS}, None),
        ("不满意，重做", {I.REVISION}, None),
        ("我要投诉，给差评", {I.COMPLAINT}, None),
        ("转人工", {I.HUMAN}, None),
        ("我已经付款了", {I.PAID_CLAIM}, None),
        ("便宜点呗", {I.PRICE_CHANGE}, None),
        ("价格改成1元", {I.PRICE_CHANGE}, None),
        ("this is nothing", set(), None),
        ("Hello, can you remove background?", {I.GREETING, I.REMOVE_BG}, Operation.REMOVE_BG),
        ("ＰＳＤ", {I.LAYERED}, Operation.REMOVE_BG_AND_LAYER),
    ],
)
def test_intents_and_operation(
    text: str, intents: set[Intent], operation: Operation | None
) -> None:
    reading = read_message(text)
    assert set(reading.intents) == intents
    assert reading.operation == operation


def test_longer_phrases_win_their_stretch_of_text() -> None:
    assert Intent.CONFIRM not in find_intents("不满意")
    assert Intent.ENHANCE not in find_intents("高清原图")
    assert find_intents("满意") == {Intent.CONFIRM}


@pytest.mark.parametrize(
    ("text", "slots"),
    [
        ("尺寸800x800", {"size": "800×800像素"}),
        ("要 1920×1080 像素的", {"size": "1920×1080像素"}),
        ("打印 10x15cm", {"size": "10×15cm"}),
        ("A4 大小", {"size": "A4"}),
        ("白底，明天要", {"colour": "白色背景", "deadline": "明天"}),
        ("背景换成 #FF0000", {"colour": "#ff0000"}),
        ("5点前能好吗", {"deadline": "5点前"}),
        ("2小时内", {"deadline": "2小时内"}),
        ("你好", {}),
    ],
)
def test_slots(text: str, slots: dict[str, str]) -> None:
    assert read_message(text).slots == slots


def test_task_ids_are_read_in_any_case() -> None:
    assert read_message("TASK_20260227_001 和 task_20260227_012 好了吗").task_ids == (
        "TASK_20260227_001",
        "TASK_20260227_012",
    )
    assert read_message("MYTASK_20260227_001").task_ids == ()


def test_money_with_a_change_is_a_price_change() -> None:
    assert Intent.PRICE_CHANGE in read_message("改成10块").intents
    assert Intent.PRICE_CHANGE not in read_message("抠图多少钱").intents


def test_note_text_drops_openers_and_the_picture_marker() -> None:
    assert note_text("对了，需要去掉背景") == "需要去掉背景"
    assert note_text("另外，顺便把边缘修干净！") == "把边缘修干净"
    assert note_text("还要高清") == "还要高清"
    assert note_text("对了") == ""


def test_picture_marker() -> None:
    assert split_picture_marker("抠图\n[客户发来图片 ×2]") == ("抠图", 2)
    assert split_picture_marker("[客户发来图片 ×x]") == ("[客户发来图片 ×x]", 0)
    assert read_message("[客户发来图片 ×1]").pictures == 1


def test_every_phrase_is_read_as_its_intent() -> None:
    for intent, phrases in INTENT_PHRASES.items():
        for phrase in phrases:
            assert intent in find_intents(phrase) or any(
                phrase in longer and longer != phrase
                for other, longer_phrases in INTENT_PHRASES.items()
                if other is not intent
                for longer in longer_phrases
            ), (intent, phrase)
