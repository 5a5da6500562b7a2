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
        ("能转矢量吗，要AI格式", {I.VECTORIZE, I.FORMAT}, Operation.VECTORIZE),
        ("要 SVG", {I.VECTORIZE, I.FORMAT}, Operation.VECTORIZE),
        ("描图", {I.VECTORIZE}, Operation.VECTORIZE),
        ("要分层的PSD", {I.LAYERED, I.FORMAT}, Operation.REMOVE_BG_AND_LAYER),
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
        (
            "Hello, can you remove background?",
            {I.GREETING, I.REMOVE_BG, I.CAPABILITY},
            Operation.REMOVE_BG,
        ),
        ("ＰＳＤ", {I.LAYERED, I.FORMAT}, Operation.REMOVE_BG_AND_LAYER),
    ],
)
def test_intents_and_operation(
    text: str, intents: set[Intent], operation: Operation | None
) -> None:
    reading = read_message(text, learned=False)  # the phrase tables alone
    assert set(reading.intents) == intents
    assert reading.operation == operation


@pytest.mark.parametrize(
    ("text", "operations"),
    [
        # A job turned down is not the job asked for; the one left is.
        ("不要矢量了，抠图就行", [Operation.REMOVE_BG]),
        ("算了不做矢量了 帮我变清晰", [Operation.ENHANCE]),
        ("不用抠图了，只改尺寸 800x800", [Operation.RESIZE_COMPRESS]),
        ("我不要证件照，就压缩一下到50k", [Operation.RESIZE_COMPRESS]),
        ("不用抠图", []),
        # Not refusals: the phrase holds the 不, an A-not-A question, a plain mention beside one.
        ("不要背景", [Operation.REMOVE_BG]),
        ("要不要抠图", [Operation.REMOVE_BG]),
        ("可不可以抠一下", [Operation.REMOVE_BG]),
        ("图片不清楚帮我修复", [Operation.ENHANCE]),
        ("抠图不要矢量", [Operation.REMOVE_BG]),
        ("压缩到500k以内 分辨率不变", [Operation.RESIZE_COMPRESS]),  # kept as it is, not asked
    ],
)
def test_a_job_turned_down_is_not_asked_for(text: str, operations: list[Operation]) -> None:
    for learned in (False, True):
        reading = read_message(text, learned=learned)
        assert list(reading.operations) == operations
        assert reading.operation == (operations[0] if operations else None)


def test_longer_phrases_win_their_stretch_of_text() -> None:
    assert Intent.CONFIRM not in find_intents("不满意")
    assert Intent.ENHANCE not in find_intents("高清原图")
    assert find_intents("满意") == {Intent.CONFIRM}


@pytest.mark.parametrize(
    ("text", "details"),
    [
        ("尺寸800x800", {"size": "800x800"}),
        ("要 1920×1080 像素的", {"size": "1920x1080"}),
        ("800*800 白底", {"size": "800x800", "background": "white"}),
        ("打印 10x15cm 300dpi", {"print": "10x15cm", "dpi": "300"}),
        ("洗一张6寸的", {"print": "6寸"}),
        ("A4 大小", {"print": "A4"}),
        ("转矢量 svg和pdf都要", {"format": "svg,pdf"}),
        ("白底，明天要", {"background": "white", "deadline": "明天"}),
        ("背景换成 #FF0000", {"background": "#ff0000"}),
        ("背景弄成透明的 要png", {"background": "transparent", "format": "png"}),
        ("一寸蓝底", {"size": "295x413", "background": "blue"}),
        ("两寸红底", {"size": "413x579", "background": "red"}),
        ("20-50kb 尺寸295*413", {"size": "295x413", "min_kb": "20", "max_kb": "50"}),
        ("压缩到200k以内", {"max_kb": "200"}),
        ("不超过1m", {"max_kb": "1024"}),
        # How buyers bound a file size (exam and registration sites): each is one bound or a range.
        (
            "要蓝底 2寸的，文件不能超过50kb",
            {"background": "blue", "size": "413x579", "max_kb": "50"},
        ),
        ("不能大于50k", {"max_kb": "50"}),
        ("文件别超过100k", {"max_kb": "100"}),
        ("不得超过2M", {"max_kb": "2048"}),
        ("最大50kb", {"max_kb": "50"}),
        ("大小控制在20到50k之间", {"min_kb": "20", "max_kb": "50"}),
        ("照片大小30kb-50kb之间", {"min_kb": "30", "max_kb": "50"}),
        ("大于20k小于50k", {"min_kb": "20", "max_kb": "50"}),
        ("至少20kb", {"min_kb": "20"}),
        ("200k以上", {"min_kb": "200"}),
        ("原图有2m", {}),
        # Sizes as buyers give them: with a file size after, as 宽/高, in millimetres.
        ("考试报名照 295x413 20-50k", {"size": "295x413", "min_kb": "20", "max_kb": "50"}),
        ("宽413高626", {"size": "413x626"}),
        ("宽 295像素，高 413像素", {"size": "295x413"}),
        ("签证照 33*48", {"print": "33x48mm"}),
        ("要 30x40 像素的", {"size": "30x40"}),
        ("1920x1080.5", {}),
        ("要ai格式的", {"format": "eps"}),
        ("矢量要pdf", {"format": "pdf"}),
        ("5点前能好吗", {"deadline": "5点前"}),
        ("2小时内", {"deadline": "2小时内"}),
        ("三十张商品图", {"quantity": "30"}),
        ("边缘有白边", {}),
        ("你好", {}),
    ],
)
def test_details(text: str, details: dict[str, str]) -> None:
    assert read_message(text).details.values == details


def test_cdr_urgency_and_picture_references() -> None:
    assert read_message("能给CDR格式吗").details.cdr
    assert read_message("急用 今天要").details.urgent
    assert read_message("两张都抠图").details.pictures == ("all",)
    reading = read_message("第一张抠图，第二张转矢量")
    assert reading.per_picture == {1: Operation.REMOVE_BG, 2: Operation.VECTORIZE}


MISSED_BY_THE_TABLES: dict[Intent, tuple[str, ...]] = {
    Intent.REMOVE_BG: ("扣个图呗", "pls cut out the background"),
    Intent.ASK_TIME: ("啥时候能好啊",),
    Intent.COMPLAINT: ("这啥啊边缘都是锯齿",),
    Intent.HUMAN: ("我要跟设计师说",),
    Intent.REFUND: ("退钱",),
    Intent.BATCH: ("三十张商品图 量大优惠吗",),
    Intent.CAPABILITY: ("透明底的能做不",),
}
"""Words for each intent that the phrase tables may not hold, but the model reads."""


@pytest.mark.parametrize(
    ("text", "intent"),
    [(text, intent) for intent, texts in MISSED_BY_THE_TABLES.items() for text in texts],
)
def test_the_model_reads_what_the_tables_may_miss(text: str, intent: Intent) -> None:
    from ai_cs.agent.intent_model import intent_model

    assert intent in intent_model().predict(text)
    assert intent in read_message(text).intents


def test_the_model_never_learns_the_held_out_split() -> None:
    from ai_cs.agent.corpus import load_corpus

    corpus = load_corpus()
    trained = {row.text for row in corpus.training_rows()}
    held = {t.say for c in corpus.split("heldout") for t in c.turns if t.say}
    train = {t.say for c in corpus.split("train") for t in c.turns if t.say}
    assert len(corpus.conversations) >= 300
    assert sum(1 for c in corpus.conversations for t in c.turns if t.say is not None) >= 1500
    # Held-out phrasings are never trained on (greetings-only words may recur in both).
    assert not (held - train) & trained
    assert len(held - train) > 100


def test_task_ids_are_read_in_any_case() -> None:
    assert read_message("TASK_20260227_001 和 task_20260227_012 好了吗").task_ids == (
        "TASK_20260227_001",
        "TASK_20260227_012",
    )
    assert read_message("MYTASK_20260227_001").task_ids == ()


def test_money_with_a_change_is_a_price_change() -> None:
    assert Intent.PRICE_CHANGE in read_message("改成10块").intents
    assert Intent.PRICE_CHANGE in read_message("20块行不行").intents
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


@pytest.mark.parametrize(
    ("text", "declined"),
    [
        ("第二张不用了，只要第一张", (2,)),
        ("第一张先不做", (1,)),
        ("第二张取消", (2,)),
        ("第一张抠图，第二张变清晰", ()),
    ],
)
def test_pictures_turned_down(text: str, declined: tuple[int, ...]) -> None:
    for learned in (False, True):
        reading = read_message(text, learned=learned)
        assert reading.declined == declined
        assert reading.has(Intent.CANCEL) == bool(declined)
        assert not set(reading.per_picture) & set(declined)
        if declined:
            assert reading.operation is None


@pytest.mark.parametrize(
    ("text", "offer"),
    [
        ("两张一起50行不行", True),
        ("给个30吧", True),
        ("20块行吗", True),
        ("30行吗", True),
        ("800x800行不行", False),
        ("2张行不行", False),
        ("今天5点前行吗", False),
        ("50kb行吗", False),
        ("3天行吗", False),
    ],
)
def test_a_price_the_buyer_offers_is_bargaining(text: str, offer: bool) -> None:
    assert read_message(text, learned=False).has(Intent.PRICE_CHANGE) == offer
