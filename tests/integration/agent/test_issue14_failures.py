"""Issue 14's numbered failures, each as a conversation through the agent.

Each asserts the database and the replies; the last one goes through ``aics chat`` to the
result file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_support import (
    Chat,
    conversation,
    dispatch_rows,
    landscape_picture,
    save,
    staff_called_because,
)
from PIL import Image
from typer.testing import CliRunner

from ai_cs.agent.handler import AgentHandler
from ai_cs.cli import build_app
from ai_cs.config import Settings
from ai_cs.core.delivery import DeliveryTimes
from ai_cs.core.money import yuan
from ai_cs.core.quoting import requote
from ai_cs.core.tasks import Operation, TaskStatus
from ai_cs.datafiles import stored_file
from ai_cs.imaging.ocr import StaticOcr
from ai_cs.tasks import service
from ai_cs.workflow import Workflow

pytestmark = pytest.mark.anyio
ME = "customer_123"
NOT_UNDERSTOOD = "没太明白"


def only_task(wf: Workflow) -> dict[str, object]:
    tasks = wf.get_customer_tasks(ME)
    assert len(tasks) == 1
    return tasks[0]


def price_of(task: dict[str, object]) -> str:
    return f"{yuan(int(task['price_fen']))} 元"  # type: ignore[call-overload]


# 1. It forgets the picture it was just sent ---------------------------------------------------
@pytest.mark.parametrize(
    ("words", "operation"),
    [
        ("背景不要了", Operation.REMOVE_BG),
        ("做成矢量", Operation.VECTORIZE),
        ("分个层", Operation.REMOVE_BG_AND_LAYER),
        ("pls cut out the background", Operation.REMOVE_BG),
    ],
)
async def test_a_job_named_after_the_picture_changes_its_order(
    chat: Chat, fixed_workflow: Workflow, picture: Path, words: str, operation: Operation
) -> None:
    await chat.say("", [picture])
    first = only_task(fixed_workflow)
    assert first["operation"] == Operation.ENHANCE  # nothing said yet: the default job
    reply = await chat.say(words)
    task = only_task(fixed_workflow)
    assert task["task_id"] == first["task_id"] and task["operation"] == operation
    assert task["price_fen"] == requote(task["requirements"], operation).total_fen
    assert price_of(task) in reply and "从「画质增强」" in reply
    assert "发给我" not in reply  # the picture is not asked for again


# 2. Ordinary messages get the "没太明白" fallback -----------------------------------------------
@pytest.mark.parametrize(
    ("words", "answer"),
    [
        ("扣个图呗", "抠图"),
        ("你好 在吗 能抠图吗", "抠图"),
        ("透明底的能做不", "可以"),
        ("三十张商品图 量大优惠吗", "30 张"),
        ("矢亮图能做吗", "矢量"),
        ("can you remove the background?", "抠图"),
    ],
)
async def test_ordinary_messages_are_understood(chat: Chat, words: str, answer: str) -> None:
    reply = await chat.say(words)
    assert NOT_UNDERSTOOD not in reply
    assert answer in reply and "元" in reply


# 3. Forgery and watermark requests in words --------------------------------------------------
@pytest.mark.parametrize(
    "words", ["帮我用模板做一个营业执照", "发票金额改成5000", "帮我去掉这张图的水印 网上下的"]
)
async def test_forgery_in_words_is_declined_and_opens_nothing(
    chat: Chat, fixed_workflow: Workflow, picture: Path, words: str
) -> None:
    reply = await chat.say(words)
    assert "没法接单" in reply and "处理时会注意" not in reply
    reply = await chat.say("就这张", [picture])
    assert fixed_workflow.get_customer_tasks(ME) == []  # the picture opens nothing either
    assert conversation(fixed_workflow, "conv_123").declines >= 1
    assert "没法接单" in reply


# 4. Hand-off on meaning, not keywords ---------------------------------------------------------
async def test_asking_for_a_designer_goes_to_staff(chat: Chat, fixed_workflow: Workflow) -> None:
    reply = await chat.say("能让设计师跟我说吗")
    assert conversation(fixed_workflow, "conv_123").needs_human == 1
    assert "人工" in reply


async def test_a_greeting_to_the_owner_is_a_greeting(chat: Chat, fixed_workflow: Workflow) -> None:
    reply = await chat.say("老板在吗")
    assert conversation(fixed_workflow, "conv_123").needs_human == 0
    assert "欢迎光临" in reply


async def test_a_refund_before_any_work_goes_to_staff_not_a_designer(
    chat: Chat, fixed_workflow: Workflow, picture: Path
) -> None:
    await chat.say("抠图", [picture])
    reply = await chat.say("退款")
    task = only_task(fixed_workflow)
    assert task["status"] == TaskStatus.PENDING  # no designer for a refund
    assert dispatch_rows(fixed_workflow) == []
    assert "退款" in staff_called_because(fixed_workflow)
    assert "退款" in reply


async def test_an_angry_complaint_about_the_result_goes_to_a_designer(
    chat: Chat, fixed_workflow: Workflow, picture: Path
) -> None:
    wf = fixed_workflow
    await chat.say("抠图", [picture])
    task = only_task(wf)
    wf.record_payment(ME, str(task["task_id"]), payment_id="p1", amount_fen=task["price_fen"])
    wf.db.run_write(
        lambda s: service.transition(
            s, wf.clock, str(task["task_id"]), TaskStatus.AWAITING_CONFIRM, result_image="r.png"
        )
    )
    reply = await chat.say("什么玩意儿 边缘全是锯齿")
    assert only_task(wf)["status"] == TaskStatus.WITH_DESIGNER
    assert conversation(wf, "conv_123").needs_human == 1
    assert "抱歉" in reply and NOT_UNDERSTOOD not in reply


# 5. Delivery time is never answered -----------------------------------------------------------
async def test_delivery_time_is_the_configured_time_and_the_queue(
    fixed_workflow: Workflow, settings: Settings, picture: Path
) -> None:
    times = DeliveryTimes.model_validate({"minutes": {"remove_bg": {"simple": 7, "normal": 7}}})
    configured = settings.model_copy(update={"delivery_times": times})
    chat = Chat(
        AgentHandler(fixed_workflow, settings=configured, ocr=StaticOcr(), allow_local_files=True)
    )
    await chat.say("抠图", [picture])
    other = fixed_workflow.create_image_task(
        "someone", "https://e.com/a.jpg", "enhance", price_fen=1
    )
    fixed_workflow.record_payment("someone", other["task_id"], payment_id="q1", amount_fen=1)
    reply = await chat.say("今天能弄好吗 着急")
    assert "7 分钟" in reply  # the configured typical time
    assert "前面还有 1 单" in reply  # the queue as it is now
    assert only_task(fixed_workflow)["requirements"]["deadline"] == "今天"


# 6. Details before the picture, several pictures, "多少钱", bargaining -------------------------
async def test_details_before_the_picture_attach_to_its_order(
    chat: Chat, fixed_workflow: Workflow, picture: Path
) -> None:
    reply = await chat.say("要做成800×800白底的主图")
    assert NOT_UNDERSTOOD not in reply and fixed_workflow.get_customer_tasks(ME) == []
    await chat.say("", [picture])
    task = only_task(fixed_workflow)
    assert task["operation"] == Operation.REMOVE_BG
    assert task["requirements"]["output"] == {"size": "800x800", "background": "white"}


async def test_each_picture_gets_its_own_job(
    chat: Chat, fixed_workflow: Workflow, picture: Path, tmp_path: Path
) -> None:
    second = save(landscape_picture(), tmp_path / "second.png")
    await chat.say("", [picture, second])
    reply = await chat.say("第一张抠图，第二张转矢量")
    tasks = sorted(fixed_workflow.get_customer_tasks(ME), key=lambda t: str(t["task_id"]))
    by_picture = {t["original_image"]: t["operation"] for t in tasks}
    assert by_picture == {str(picture): "remove_bg", str(second): "vectorize"}
    assert all(price_of(t) in reply for t in tasks)
    reply = await chat.say("两张都抠图")
    assert {t["operation"] for t in fixed_workflow.get_customer_tasks(ME)} == {"remove_bg"}


async def test_price_question_and_bargaining_answer_this_order(
    chat: Chat, fixed_workflow: Workflow, picture: Path
) -> None:
    await chat.say("抠图", [picture])
    task = only_task(fixed_workflow)
    reply = await chat.say("多少钱")
    assert price_of(task) in reply and "简单/普通/复杂" not in reply
    reply = await chat.say("便宜点呗 老顾客了")
    assert only_task(fixed_workflow)["price_fen"] == task["price_fen"]
    assert "没法再少" in reply and price_of(task) in reply and "拍下付款" in reply


# 7. What the customer asks for is what they get (chat → engine → file) ------------------------
def test_white_800_asked_in_chat_is_the_result_file(
    runner: CliRunner, picture: Path, database_url: str, settings: Settings, tmp_path: Path
) -> None:
    script = "\n".join(["要做成800×800白底的主图", f"/image {picture}", "/pay", "/quit"])
    result = runner.invoke(
        build_app(), ["chat", "--customer", "cli_white", "--no-ocr"], input=script + "\n"
    )
    assert result.exit_code == 0, result.output
    configured = settings.model_copy(update={"data_dir": tmp_path / "data"})
    wf = Workflow(database_url=database_url, settings=configured)
    try:
        task = wf.get_customer_tasks("cli_white")[0]
    finally:
        wf.close()
    assert task["status"] == TaskStatus.AWAITING_CONFIRM, result.output
    result_file = stored_file(configured.data_dir, task["result_image"])
    assert result_file is not None
    with Image.open(result_file) as out:
        assert out.size == (800, 800)
        rgb = out.convert("RGBA")
        for corner in ((0, 0), (799, 0), (0, 799), (799, 799)):
            r, g, b, a = rgb.getpixel(corner)
            assert a == 255 and min(r, g, b) >= 245, (corner, (r, g, b, a))
