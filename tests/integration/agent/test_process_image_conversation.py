"""The process-image workflow as a scripted chat, checking the database after every message."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_support import (
    Chat,
    conversation,
    messages,
    payment_count,
    product_picture,
    save,
    staff_called_because,
)

from ai_cs.agent.handler import AgentHandler
from ai_cs.agent.tools import yuan
from ai_cs.config import Settings
from ai_cs.core.quoting import requote
from ai_cs.core.tasks import Operation, TaskStatus
from ai_cs.imaging.ocr import StaticOcr
from ai_cs.tasks import service
from ai_cs.workflow import Workflow

pytestmark = pytest.mark.anyio

CUSTOMER = "customer_123"


async def test_remove_background_then_note_change_pay_progress_confirm(
    chat: Chat, fixed_workflow: Workflow, picture: Path
) -> None:
    wf = fixed_workflow

    # 1. The customer asks for a cut-out before sending anything: no order yet.
    reply = await chat.say("你好，我想抠图，把背景去掉")
    assert "抠图" in reply
    assert wf.get_customer_tasks(CUSTOMER) == []
    conv = conversation(wf, "conv_123")
    assert (conv.customer_id, conv.platform, conv.account_id) == (CUSTOMER, "xianyu", "shop_1")
    assert messages(wf, "conv_123") == [
        ("in", "customer", "你好，我想抠图，把背景去掉"),
        ("out", "ai", reply),
    ]

    # 2. The picture alone: analysed and quoted for the cut-out asked for a turn earlier.
    reply = await chat.say("", [picture])
    tasks = wf.get_customer_tasks(CUSTOMER)
    assert len(tasks) == 1
    task = tasks[0]
    tid = task["task_id"]
    assert tid == "TASK_20260227_001"
    assert task["status"] == TaskStatus.PENDING
    assert task["operation"] == Operation.REMOVE_BG
    assert task["price_fen"] == requote(task["requirements"], Operation.REMOVE_BG).total_fen > 0
    assert task["quote"]["total_fen"] == task["price_fen"]
    assert task["risk"]["decision"] == "accept"
    assert (task["acc_id"], task["acc_type"], task["conversation_id"]) == (
        "shop_1",
        "xianyu",
        "conv_123",
    )
    assert task["original_image"] == str(picture)
    assert task["requirements"]["aspect_ratio"] == "1:1"
    assert f"{yuan(task['price_fen'])} 元" in reply
    assert tid in reply and "付款" in reply
    assert conversation(wf, "conv_123").current_task_id == tid

    # 3. "对了，要高清一点": a note line and an add_note history row.
    reply = await chat.say("对了，要高清一点")
    task = wf.get_task(tid)
    assert task["customer_notes"] == "[02-27 18:00] 要高清一点"
    history = wf.get_task_requirement_history(tid)
    assert [(h["change_type"], h["new_value"], h["changed_by"]) for h in history] == [
        ("add_note", "要高清一点", "customer")
    ]
    assert task["operation"] == Operation.REMOVE_BG  # a note, not a change of job
    assert "要高清一点" in reply

    # 4. "改成要分层文件": the operation and the quote change together.
    old_price = task["price_fen"]
    reply = await chat.say("改成要分层文件")
    task = wf.get_task(tid)
    assert task["operation"] == Operation.REMOVE_BG_AND_LAYER
    new_price = requote(task["requirements"], Operation.REMOVE_BG_AND_LAYER).total_fen
    assert task["price_fen"] == new_price > old_price
    assert task["quote"]["operation"] == "remove_bg_and_layer"
    assert task["quote"]["total_fen"] == new_price
    change = wf.get_task_requirement_history(tid)[0]
    assert (change["change_type"], change["old_value"], change["new_value"]) == (
        "modify_operation",
        "remove_bg",
        "remove_bg_and_layer",
    )
    assert f"{yuan(new_price)} 元" in reply and "分层" in reply
    assert task["status"] == TaskStatus.PENDING and payment_count(wf) == 0

    # 5. The platform's payment event (the agent can never pay).
    paid = wf.record_payment(CUSTOMER, tid, payment_id="pay_001", amount_fen=new_price)
    assert paid.outcome == "applied"

    # 6. Progress: the reply states the status the database holds.
    reply = await chat.say("进度怎么样了？")
    assert wf.get_task(tid)["status"] == TaskStatus.PROCESSING
    assert tid in reply and "处理中" in reply and "待付款" not in reply

    # After payment a note is refused and nothing changes.
    reply = await chat.say("对了，再加个水印")
    task = wf.get_task(tid)
    assert task["customer_notes"] == "[02-27 18:00] 要高清一点"
    assert "不能再改" in reply

    # 7. The worker finishes; the next progress answer follows the database again.
    wf.db.run_write(
        lambda s: service.transition(
            s, wf.clock, tid, TaskStatus.AWAITING_CONFIRM, result_image="results/x.psd"
        )
    )
    reply = await chat.say("好了吗")
    assert f"{tid}（" in reply and "：待确认收货" in reply

    # 8. 确认收货 completes the order.
    reply = await chat.say("确认收货，很满意")
    done = wf.get_task(tid)
    assert done["status"] == TaskStatus.COMPLETED
    assert done["completed_at"].startswith("2026-02-27T18:00:00")  # the customer confirmed
    assert done["paid_at"] and done["started_at"]
    assert "已完成" in reply
    assert reply.count("完成") == 1, reply  # thanked once, not told "订单已完成" again
    assert payment_count(wf) == 1
    stored = messages(wf, "conv_123")
    assert len(stored) == 2 * 8
    assert [role for _, role, _ in stored] == ["customer", "ai"] * 8


async def test_picture_over_loopback_http(
    fixed_workflow: Workflow, settings: Settings, picture_server: tuple[str, Path]
) -> None:
    base_url, root = picture_server
    save(product_picture(), root / "shot.png")
    url = f"{base_url}/shot.png"
    allowed = settings.model_copy(update={"fetch_allowed_hosts": ["127.0.0.1:*"]})
    handler = AgentHandler(fixed_workflow, settings=allowed, ocr=StaticOcr())
    chat = Chat(handler)

    reply = await chat.say("帮我抠图，白底", [url])
    task = fixed_workflow.get_customer_tasks(CUSTOMER)[0]
    assert task["original_image"] == url
    assert task["operation"] == Operation.REMOVE_BG and task["status"] == TaskStatus.PENDING
    assert task["requirements"]["background"] == "white"
    assert task["requirements"]["output"] == {"background": "white"}  # what the engine applies
    assert f"{yuan(task['price_fen'])} 元" in reply

    # Sending the same picture again gives the same order, not a second one.
    await chat.say("", [url])
    assert len(fixed_workflow.get_customer_tasks(CUSTOMER)) == 1


async def test_gateway_handler_refuses_local_paths(fixed_workflow: Workflow, picture: Path) -> None:
    chat = Chat(AgentHandler(fixed_workflow, ocr=StaticOcr()))  # no local files: gateway mode
    reply = await chat.say("抠图", [picture])
    assert fixed_workflow.get_customer_tasks(CUSTOMER) == []
    assert "换一张" in reply


async def test_size_colour_and_deadline_with_the_picture(
    chat: Chat, fixed_workflow: Workflow, picture: Path
) -> None:
    await chat.say("转矢量，尺寸 1000x1000，明天要", [picture])
    task = fixed_workflow.get_customer_tasks(CUSTOMER)[0]
    assert task["operation"] == Operation.VECTORIZE
    assert task["requirements"]["size"] == "1000x1000"
    assert task["requirements"]["output"] == {"size": "1000x1000"}
    assert task["requirements"]["deadline"] == "明天"
    kinds = {h["change_type"] for h in fixed_workflow.get_task_requirement_history(task["task_id"])}
    assert kinds == {"add_requirement"}


async def test_change_after_payment_opens_a_new_order(
    chat: Chat, fixed_workflow: Workflow, picture: Path
) -> None:
    wf = fixed_workflow
    await chat.say("抠图", [picture])
    first = wf.get_customer_tasks(CUSTOMER)[0]
    wf.record_payment(CUSTOMER, first["task_id"], payment_id="p1", amount_fen=first["price_fen"])

    reply = await chat.say("改成转矢量")
    after = wf.get_task(first["task_id"])
    assert after["operation"] == Operation.REMOVE_BG  # a paid order keeps its job
    assert after["price_fen"] == first["price_fen"]
    tasks = wf.get_customer_tasks(CUSTOMER)
    assert len(tasks) == 2
    new = tasks[0]
    assert new["operation"] == Operation.VECTORIZE and new["status"] == TaskStatus.PENDING
    assert new["price_fen"] == requote(new["requirements"], Operation.VECTORIZE).total_fen
    assert first["task_id"] in reply and new["task_id"] in reply


async def test_decline_opens_no_order_and_is_counted(
    chat: Chat, fixed_workflow: Workflow, picture: Path
) -> None:
    reply = await chat.say("帮我改日期，2023改成2024", [picture])
    assert fixed_workflow.get_customer_tasks(CUSTOMER) == []
    assert "没法接单" in reply
    assert conversation(fixed_workflow, "conv_123").declines == 1


async def test_review_goes_to_staff(fixed_workflow: Workflow, tmp_path: Path) -> None:
    # A red round stamp makes the risk rules ask for a human look.
    img = product_picture(body=(40, 90, 200))
    from PIL import ImageDraw

    ImageDraw.Draw(img).ellipse((400, 420, 600, 620), outline=(220, 20, 20), width=14)
    path = save(img, tmp_path / "stamp.png")
    chat = Chat(AgentHandler(fixed_workflow, ocr=StaticOcr(["合同专用章"]), allow_local_files=True))
    reply = await chat.say("抠图", [path])
    assert fixed_workflow.get_customer_tasks(CUSTOMER) == []
    assert "审核" in staff_called_because(fixed_workflow)
    assert "人工" in reply


async def test_the_same_note_twice_in_a_row_is_stored_once(
    chat: Chat, fixed_workflow: Workflow, picture: Path
) -> None:
    # A turn re-run after a crash repeats the agent's tool calls; a note must not double.
    await chat.say("帮我抠图", [picture])
    tid = fixed_workflow.get_customer_tasks(CUSTOMER)[0]["task_id"]
    await chat.say("对了，要高清一点")
    await chat.say("对了，要高清一点")
    await chat.say("另外，边缘修干净")
    history = fixed_workflow.get_task_requirement_history(tid)
    assert [h["new_value"] for h in history if h["change_type"] == "add_note"] == [
        "边缘修干净",
        "要高清一点",
    ]


async def test_pictures_sent_one_by_one_get_the_job_named_for_them(
    chat: Chat, fixed_workflow: Workflow, tmp_path: Path
) -> None:
    wf = fixed_workflow
    first = save(product_picture(), tmp_path / "one.png")
    second = save(product_picture(body=(200, 60, 40)), tmp_path / "two.png")
    await chat.say("帮我把这两张图都抠一下")
    await chat.say("", [first])
    reply = await chat.say("", [second])
    tasks = sorted(wf.get_customer_tasks(CUSTOMER), key=lambda t: t["task_id"])
    assert [t["operation"] for t in tasks] == [Operation.REMOVE_BG, Operation.REMOVE_BG]
    assert "先按画质增强报价" not in reply  # not the guess for a picture with no job named

    # The second is turned down: it is said so, and the first is the one offered to pay.
    reply = await chat.say("第二张不用了，只要第一张")
    one, two = (t["task_id"] for t in tasks)
    assert f"第2张（订单 {two}）先不做了" in reply
    assert f"订单 {one} 报价" in reply and f"订单 {two} 报价" not in reply
    assert [t["status"] for t in wf.get_customer_tasks(CUSTOMER)] == ["pending", "pending"]


async def test_the_picture_for_a_retouch_goes_to_staff_unquoted(
    chat: Chat, fixed_workflow: Workflow, picture: Path
) -> None:
    await chat.say("帮我把照片里的路人P掉")
    assert "精修" in staff_called_because(fixed_workflow)
    reply = await chat.say("", [picture])
    assert fixed_workflow.get_customer_tasks(CUSTOMER) == []  # no enhance guess for it
    assert "转给设计师" in reply and "报价 " not in reply
    # Naming a job the shop automates after all quotes that picture.
    await chat.say("算了 那就抠个图吧")
    [task] = fixed_workflow.get_customer_tasks(CUSTOMER)
    assert task["operation"] == Operation.REMOVE_BG


async def test_find_this_picture_waits_for_the_picture(
    chat: Chat, fixed_workflow: Workflow
) -> None:
    reply = await chat.say("有没有这个商品的高清原图，帮我找一下")
    assert "发给我" in reply
    assert conversation(fixed_workflow, "conv_123").needs_human == 0  # nothing searched yet
