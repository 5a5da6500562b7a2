"""What the offline agent says: polite Chinese replies written from tool results.

Replies only ever contain what the tools returned (the customer's own orders, the shop's prices
and library) and fixed text; they never repeat a task id the tools did not return, so a customer
who names somebody else's order learns nothing about it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from ai_cs.agent.phrases import Intent
from ai_cs.agent.understanding import Reading
from ai_cs.core.pricing import OPERATION_LABELS
from ai_cs.core.tasks import Operation

Result = Mapping[str, Any]

MENU: Final = (
    "抠图去背景、变清晰修复、转矢量图、分层 PSD、证件照换底色、改尺寸/压缩，"
    "还能帮您在图库里找高清原图"
)

NEXT_STEP: Final[dict[str, str]] = {
    "pending": "确认没问题的话，在平台拍下付款即可，付款后系统会自动开始处理～",
    "paid": "已收到付款，马上开始处理，完成后第一时间发给您～",
    "processing": "正在为您处理中，完成后第一时间发给您～",
    "awaiting_confirm": "已经处理好发给您了，请查收；满意的话回复「确认收货」就好～",
    "completed": "订单已完成，感谢您的支持～",
    "failed": "自动处理没有达到效果，已安排设计师人工处理，请稍等～",
    "with_designer": "设计师正在人工精修，完成后第一时间发给您～",
    "cancelled": "",
    "refunded": "",
}

FIXED: Final[dict[str, str]] = {
    "greeting": f"您好，欢迎光临～我们可以帮您{MENU}。把图片发给我，马上为您报价～",
    "thanks": "不客气～有需要随时找我哦！",
    "fallback": (
        "抱歉，我没太明白您的意思～您可以直接发图片给我报价，或者告诉我要抠图、变清晰、"
        "转矢量、分层、找图；查订单请说「进度」，找人工客服请说「人工」。"
    ),
    "ask_change": (
        "您想改成哪种处理方式呢？可以选：抠图去背景、画质增强（变清晰）、转矢量图、"
        "抠图并分层（PSD 分层文件）、证件照（换底色、标准尺寸）、改尺寸/压缩。"
    ),
    "ask_find": "好的，麻烦把要找的图片发给我，或者告诉我图片的名称、内容或图上的文字～",
    "ask_picture": "把需要处理的图片发给我，马上为您准确报价～",
    "paid_claim": (
        "付款以平台的付款通知为准，系统收到付款后会自动开始处理，聊天里没法修改付款状态哦。"
    ),
    "price_fixed": "价格是系统按图片复杂度和处理方式统一计算的，没法手动改价哦～",
    "no_task": "您目前还没有订单，把图片发给我就可以报价啦～",
    "task_not_found": "没有找到您说的订单，麻烦核对一下订单号～",
    "model_trouble": "抱歉，系统有点忙，我已经记下您的消息，请稍后再发一次或回复「人工」～",
}

DETAIL_LABELS: Final[dict[str, str]] = {"size": "尺寸", "colour": "颜色", "deadline": "交付时间"}


def _price(task: Result) -> str:
    value = task.get("price_yuan")
    return f"{value} 元" if value is not None else "待报价"


def task_line(task: Result) -> str:
    """``订单 TASK_…（抠图去背景，25 元）：待付款``."""
    return (
        f"订单 {task['task_id']}（{task.get('operation_label', '')}，{_price(task)}）："
        f"{task.get('status_label', '')}"
    )


def next_step(task: Result) -> str:
    """What happens next for a task in its status."""
    return NEXT_STEP.get(str(task.get("status", "")), "")


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reply_quote(result: Result) -> str:
    """The reply to an analysis and quote."""
    if not result.get("ok"):
        if result.get("error") == "no_picture":
            return "亲，还没收到图片哦，麻烦把需要处理的图片发给我～"
        if result.get("error") == "picture_rejected":
            return "亲，这张图片打不开（支持 JPG/PNG/WebP/BMP，20MB 以内），麻烦换一张发给我～"
        return reply_change(result)
    decision = result.get("decision")
    if decision == "decline":
        return (
            "非常抱歉，按照平台规定，这张图片的需求我们这边没法接单。"
            "如果有其他图片需要处理，欢迎随时发给我～"
        )
    if decision == "review":
        return (
            "图片收到啦～这张图需要人工再确认一下细节，已经帮您转给人工客服，"
            "稍后同事会和您联系，请稍等～"
        )
    task = result.get("task") or {}
    if result.get("reused"):
        return f"这张图已经为您报过价啦：{task_line(task)}。" + next_step(task)
    lines = result.get("lines") or []
    detail = ""
    if len(lines) > 1:
        detail = "（" + " + ".join(f"{line['label']} {line['yuan']} 元" for line in lines) + "）"
    parts = [
        f"图片收到啦～看了一下是「{result.get('complexity_label') or '普通'}」难度，"
        f"{task.get('operation_label', '')}报价 {_price(task)}{detail}，"
        f"订单号 {task.get('task_id', '')}。"
    ]
    if result.get("text_found"):
        parts.append("图片里有文字，按文字订单计价。")
    if result.get("operation_defaulted"):
        parts.append("您还没说要做什么，先按画质增强报价；要抠图、转矢量或分层，直接告诉我就行。")
    parts.append(next_step(task))
    return "".join(parts)


def reply_change(result: Result) -> str:
    """The reply to an operation change."""
    task = result.get("task") or {}
    error = result.get("error")
    if result.get("ok"):
        if result.get("unchanged"):
            return f"{task_line(task)}，本来就是这个处理方式哦～" + next_step(task)
        before = result.get("previous_price_yuan")
        price = (
            f"价格不变，仍是 {_price(task)}"
            if before == task.get("price_yuan")
            else f"价格从 {before} 元调整为 {_price(task)}"
        )
        return (
            f"好的，已经把订单 {task.get('task_id')} 从「{result.get('previous_operation_label')}」"
            f"改成「{task.get('operation_label')}」，{price}。" + next_step(task)
        )
    if error == "operation_locked" and task:
        return f"{task_line(task)}，已经付款开始处理了，处理方式不能再改哦。"
    if error == "needs_review":
        return "这个修改需要人工确认一下，已经帮您转给人工客服，请稍等～"
    if error == "task_not_found":
        return FIXED["task_not_found"] if task or result.get("named") else FIXED["no_task"]
    return "抱歉，刚才没改成功，请稍后再试一次～"


def reply_requirement(result: Result, key: str | None) -> str:
    """The reply to a recorded note or requirement."""
    task = result.get("task") or {}
    if result.get("ok"):
        recorded = _short(str(result.get("recorded", "")))
        if key is None:
            return f"好的，已经帮您备注：「{recorded}」，处理时会注意的～"
        return f"已记下{DETAIL_LABELS.get(key, key)}：{recorded}。"
    if result.get("error") == "requirements_locked" and task:
        return f"{task_line(task)}，已经付款开始处理，需求不能再改了；需要调整的话请说「人工」。"
    if result.get("error") == "task_not_found":
        return FIXED["task_not_found"] if result.get("named") else FIXED["no_task"]
    return "抱歉，刚才没记上，请稍后再发一次～"


def reply_tasks(result: Result, *, named: bool = False) -> str:
    """The reply listing the customer's orders and what happens next."""
    if not result.get("ok"):
        return FIXED["task_not_found"]
    tasks: Sequence[Result] = result.get("tasks") or []
    if not tasks:
        return FIXED["no_task"] if not named else FIXED["task_not_found"]
    shown = tasks[:3]
    text = "；".join(task_line(t) for t in shown) + "。"
    if len(tasks) > len(shown):
        text += f"（共 {result.get('total', len(tasks))} 个订单，只列出最近 3 个）"
    return text + next_step(shown[0])


def reply_confirm(result: Result) -> str:
    """The reply to 确认收货."""
    task = result.get("task") or {}
    if result.get("ok"):
        return f"感谢确认收货～订单 {task.get('task_id')} 已完成，欢迎下次光临！"
    if result.get("error") == "not_ready" and task:
        return f"{task_line(task)}，处理完成后再确认收货就好～"
    return "您目前没有待确认收货的订单哦～"


def reply_prices(result: Result) -> str:
    """The reply with list prices."""
    rows = result.get("prices") or []
    listed = "；".join(
        f"{row['label']} {row['simple_yuan']}/{row['normal_yuan']}/{row['complex_yuan']} 元"
        for row in rows
    )
    return (
        f"我们按图片难度（简单/普通/复杂）收费：{listed}。图片里有文字的按 "
        f"{result.get('text_band', '')} 元计价。" + FIXED["ask_picture"]
    )


def reply_find(result: Result) -> str:
    """The reply to a find-image search."""
    if not result.get("ok"):
        if result.get("error") == "no_picture":
            return FIXED["ask_find"]
        return "抱歉，这张图片打不开，麻烦换一张发给我，或者用文字描述一下～"
    matches: Sequence[Result] = result.get("matches") or []
    if not matches:
        return "图库里暂时没找到这张图，已经转给人工客服帮您再找找，请稍等～"
    listed = "；".join(
        f"{i}.《{m['name']}》分辨率 {m['resolution']}" for i, m in enumerate(matches, start=1)
    )
    return f"帮您在图库里找到了：{listed}。需要原图的话回复「人工」，客服马上把原图发给您～"


def reply_handoff(result: Result) -> str:
    """The reply after handing to a human."""
    task = result.get("task")
    reason = result.get("reason")
    if reason == "complaint":
        text = "非常抱歉给您带来不好的体验，已经把您的问题转给人工客服优先处理，请稍等～"
    elif reason == "revision_request":
        text = (
            f"收到，已经把订单 {task['task_id']} 交给设计师按您的意见重新修改，改好第一时间发给您～"
            if task
            else "收到您的反馈，已经转给人工客服跟进，请稍等～"
        )
        return text
    elif reason == "find_image_no_match":
        return ""
    else:
        text = "好的，已经为您转接人工客服，请稍等片刻，同事马上来回复您～"
    if task:
        text += f"订单 {task['task_id']} 也已交给设计师人工处理。"
    return text


def operation_label(operation: Operation) -> str:
    """The shop's name of an operation."""
    return OPERATION_LABELS[operation]


def opening(reading: Reading, body: str) -> str:
    """A greeting in front of the reply when the customer greeted first."""
    if reading.has(Intent.GREETING) and body and not body.startswith("您好"):
        return "您好～" + body
    return body
