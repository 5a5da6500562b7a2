"""What the offline agent says: short, warm Chinese replies written from typed tool results.

Replies only ever contain what the tools returned (the customer's own orders, the shop's prices,
times and library) and fixed text; they never repeat a task id the tools did not return, so a
customer who names somebody else's order learns nothing about it. Every reply answers what was
asked and ends with the next step (and the price when an order has one); a picture is asked for
only while none has been sent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from ai_cs.agent.phrases import Intent
from ai_cs.agent.tools import (
    ChangeResult,
    ConfirmResult,
    DeliveryResult,
    FindImageResult,
    HandoffResult,
    PriceListResult,
    QuoteResult,
    RequirementResult,
    ScreenResult,
    StateResult,
    TaskListResult,
    TaskView,
    ToolName,
)
from ai_cs.agent.turn import Context, Step
from ai_cs.agent.understanding import Reading
from ai_cs.core.money import yuan
from ai_cs.core.pricing import OPERATION_LABELS
from ai_cs.core.tasks import Operation

T = ToolName

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
    "picture_to_staff": "图片收到啦，已经一并转给设计师，稍后按您的需求报价～",
    "greeting": f"您好，欢迎光临～我们可以帮您{MENU}。把图片发给我，马上为您报价～",
    "greeting_with_picture": "您好～有什么需要随时说，我一直在～",
    "thanks": "不客气～有需要随时找我哦！",
    "ack": "好的～",
    "fallback": (
        "抱歉，我没太明白您的意思～您可以直接发图片给我报价，或者告诉我要抠图、变清晰、"
        "转矢量、分层、证件照、改尺寸；查订单请说「进度」，找人工客服请说「人工」。"
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
    "injection": "这个我没法操作哦～订单、付款和价格都以系统为准，我只能帮您处理自己的订单。",
    "bargain": "亲，价格是按图片难度统一定的，已经是实在价啦，实在没法再少了，还请理解～",
    "no_task": "您目前还没有订单，把图片发给我就可以报价啦～",
    "task_not_found": "没有找到您说的订单，麻烦核对一下订单号～",
    "decline": (
        "非常抱歉，涉及证件、票据、印章等内容的制作或修改，以及去除他人图片的水印，"
        "按平台规定我们没法接单，还请理解。其他修图需求欢迎随时找我～"
    ),
    "review": "这个需求需要人工确认一下，已经帮您转给人工客服，稍后同事会联系您，请稍等～",
    "cdr": (
        "CDR 源文件我们出不了，可以给您 SVG、PDF 或 EPS 矢量文件，CorelDRAW 都能直接打开编辑～"
    ),
    "how_to_pay": "直接在平台拍下付款就可以（需要先付款），系统收到付款会自动开始处理～",
    "cancel": "好的，这单先不做了，没付款不会产生费用；之后需要的话随时找我～",
    "model_trouble": "抱歉，系统有点忙，我已经记下您的消息，请稍后再发一次或回复「人工」～",
}

FORMAT_ANSWERS: Final[dict[str, str]] = {
    "pdf": "PDF 可以的，转矢量的订单可以给您 PDF 矢量文件～",
    "eps": "EPS 可以的，转矢量的订单可以给您 EPS 文件（AI、CorelDRAW 都能打开）～",
    "svg": "SVG 可以的，转矢量默认就是 SVG 文件～",
    "psd": "PSD 可以的，抠图分层的订单交付分层 PSD 源文件～",
    "png": "PNG 可以的，抠图默认交付透明底 PNG～",
    "jpg": "JPG 可以的，需要的话还能控制文件大小～",
}
URGENT_OK_MINUTES: Final = 180
"""An estimate within this many minutes is "赶得上" for a buyer in a hurry."""
AI_FORMAT: Final = "AI 文件我们用 EPS/PDF 交付，Illustrator 可以直接打开编辑～"

DETAIL_LABELS: Final[dict[str, str]] = {
    "background": "背景",
    "colour": "颜色",
    "size": "尺寸",
    "format": "格式",
    "max_kb": "文件不超过",
    "min_kb": "文件不小于",
    "print": "打印尺寸",
    "dpi": "分辨率",
    "deadline": "交付时间",
    "quantity": "数量",
}
BACKGROUND_NAMES: Final[dict[str, str]] = {
    "white": "白色",
    "blue": "蓝色",
    "red": "红色",
    "grey": "灰色",
    "transparent": "透明",
}


def _price(task: TaskView) -> str:
    return f"{task.price_yuan} 元" if task.price_yuan is not None else "待报价"


def task_line(task: TaskView) -> str:
    """``订单 TASK_…（抠图去背景，25 元）：待付款``."""
    return f"订单 {task.task_id}（{task.operation_label}，{_price(task)}）：{task.status_label}"


def next_step(task: TaskView | None) -> str:
    """What happens next for a task in its status."""
    return NEXT_STEP.get(task.status, "") if task is not None else ""


def detail_text(key: str, value: str) -> str:
    """One recorded detail as the buyer reads it: ``背景白色``, ``尺寸 800×800 像素``."""
    label = DETAIL_LABELS.get(key, key)
    if key == "background":
        return f"{label}{BACKGROUND_NAMES.get(value, value)}"
    if key == "size":
        return f"{label} {value.replace('x', '×')} 像素"
    if key in ("max_kb", "min_kb"):
        return f"{label} {value} KB"
    if key == "format":
        return f"{label} {value.upper()}"
    if key == "dpi":
        return f"{label} {value} DPI"
    if key == "quantity":
        return f"{label} {value} 张"
    return f"{label} {value}"


def operation_label(operation: Operation) -> str:
    """The shop's name of an operation."""
    return OPERATION_LABELS[operation]


# --- replies per tool result --------------------------------------------------------------------
def reply_quote(result: QuoteResult, which: str = "图片") -> str:
    """The reply to an analysis and quote (``which``: "图片", or "第 2 张" of several)."""
    if not result.ok:
        if result.error == "no_picture":
            return "亲，还没收到图片哦，麻烦把需要处理的图片发给我～"
        if result.error == "picture_rejected":
            return "亲，这张图片打不开（支持 JPG/PNG/WebP/BMP，20MB 以内），麻烦换一张发给我～"
        return reply_change(ChangeResult(ok=False, error=result.error, task=result.task))
    if result.decision == "decline":
        return (
            "非常抱歉，按照平台规定，这张图片的需求我们这边没法接单。"
            "如果有其他图片需要处理，欢迎随时发给我～"
        )
    if result.decision == "review":
        return (
            "图片收到啦～这张图需要人工再确认一下细节，已经帮您转给人工客服，"
            "稍后同事会和您联系，请稍等～"
        )
    task = result.task
    if task is None:
        return ""
    if result.reused:
        return f"这张图已经为您报过价啦：{task_line(task)}。"
    detail = ""
    if len(result.lines) > 1:
        detail = "（" + " + ".join(f"{line.label} {line.yuan} 元" for line in result.lines) + "）"
    parts = [
        f"{which}收到啦～看了一下是「{result.complexity_label or '普通'}」难度，"
        f"{task.operation_label}报价 {_price(task)}{detail}，订单号 {task.task_id}。"
    ]
    if result.text_found:
        parts.append("图片里有文字，按文字订单计价。")
    if result.operation_defaulted:
        parts.append("您还没说要做什么，先按画质增强报价；要抠图、转矢量或分层，直接告诉我就行。")
    return "".join(parts)


def reply_change(result: ChangeResult) -> str:
    """The reply to an operation change."""
    task = result.task
    if result.ok and task is not None:
        if result.unchanged:
            return f"{task_line(task)}，本来就是这个处理方式哦～"
        before = result.previous_price_yuan
        price = (
            f"价格不变，仍是 {_price(task)}"
            if before == task.price_yuan
            else f"价格从 {before} 元调整为 {_price(task)}"
        )
        return (
            f"好的，已经把订单 {task.task_id} 从「{result.previous_operation_label}」"
            f"改成「{task.operation_label}」，{price}。"
        )
    if result.error == "operation_locked" and task is not None:
        return f"{task_line(task)}，已经付款开始处理了，处理方式不能再改哦。"
    if result.error == "needs_review":
        return FIXED["review"]
    if result.error == "task_not_found":
        return FIXED["task_not_found"]
    return "抱歉，刚才没改成功，请稍后再试一次～"


def reply_note(result: RequirementResult) -> str:
    """The reply to a recorded note."""
    if result.ok:
        recorded = result.recorded if len(result.recorded) <= 40 else result.recorded[:39] + "…"
        return f"好的，已经帮您备注：「{recorded}」，处理时会注意的～"
    return reply_locked(result)


def reply_locked(result: RequirementResult) -> str:
    """A requirement that could not be recorded."""
    if result.error == "requirements_locked" and result.task is not None:
        return (
            f"{task_line(result.task)}，已经付款开始处理，需求不能再改了；"
            "需要调整的话请说「人工」。"
        )
    if result.error == "task_not_found":
        return FIXED["task_not_found"]
    return ""


def reply_details(steps: Sequence[Step]) -> str:
    """One line for every detail recorded this turn: ``已记下：背景白色、尺寸 800×800 像素``."""
    recorded, refused = [], []
    for step in steps:
        if step.tool != T.SET_REQUIREMENT_DETAIL or not isinstance(step.result, RequirementResult):
            continue
        text = detail_text(str(step.args.get("key")), str(step.args.get("value")))
        if step.result.ok and text not in recorded:
            recorded.append(text)
        elif not step.result.ok:
            refused.append(step.result)
    if recorded:
        return "已记下：" + "、".join(recorded) + "，处理时按这个来～"
    return reply_locked(refused[0]) if refused else ""


def reply_tasks(result: TaskListResult) -> str:
    """The reply listing the customer's orders and what happens next."""
    if not result.ok:
        return FIXED["task_not_found"]
    if not result.tasks:
        return FIXED["no_task"]
    shown = result.tasks[:3]
    text = "；".join(task_line(t) for t in shown) + "。"
    if len(result.tasks) > len(shown):
        text += f"（共 {result.total} 个订单，只列出最近 3 个）"
    return text + next_step(shown[0])


def reply_confirm(result: ConfirmResult) -> str:
    """The reply to 确认收货."""
    if result.ok and result.task is not None:
        return f"感谢确认收货～订单 {result.task.task_id} 已完成，欢迎下次光临！"
    if result.error == "not_ready" and result.task is not None:
        return f"{task_line(result.task)}，处理完成后再确认收货就好～"
    return "您目前没有待确认收货的订单哦～"


def reply_prices(result: PriceListResult) -> str:
    """List prices: one job's three levels, or every job's."""
    rows = result.prices
    listed = "；".join(
        f"{row.label} {row.simple_yuan}/{row.normal_yuan}/{row.complex_yuan} 元" for row in rows
    )
    text = f"按图片难度（简单/普通/复杂）收费：{listed}"
    if len(rows) > 1:
        text += f"。图片里有文字的按 {result.text_band} 元计价"
    return text + "。"


def reply_delivery(result: DeliveryResult, reading: Reading) -> str:
    """Typical time of the job and the queue ahead, as an honest estimate."""
    queue = (
        f"现在前面还有 {result.queued_ahead} 单在排队，"
        if result.queued_ahead
        else "现在不用排队，"
    )
    task = result.task
    if task is not None and task.status in ("paid", "processing"):
        return (
            f"订单 {task.task_id} 正在处理，{result.operation_label}一般 "
            f"{result.typical_minutes} 分钟左右出结果，{queue}预计 {result.estimate_text}内"
            "完成，好了第一时间发给您～"
        )
    if task is not None and task.status == "with_designer":
        return (
            f"订单 {task.task_id} 在设计师那里人工精修，一般 {result.designer_hours} 小时内完成，"
            "好了第一时间发给您～"
        )
    text = (
        f"{result.operation_label}一般 {result.typical_minutes} 分钟左右出结果，"
        f"{queue}付款后预计 {result.estimate_text}内完成"
    )
    if reading.details.urgent or reading.details.values.get("deadline"):
        text += (
            "，赶得上的"
            if result.estimate_minutes <= URGENT_OK_MINUTES
            else "，今天可能有点紧，着急的话回复「人工」帮您问问加急"
        )
    return text + f"。需要设计师人工精修的话一般 {result.designer_hours} 小时内～"


def reply_find(result: FindImageResult) -> str:
    """The reply to a find-image search."""
    if not result.ok:
        if result.error == "no_picture":
            return FIXED["ask_find"]
        return "抱歉，这张图片打不开，麻烦换一张发给我，或者用文字描述一下～"
    if not result.matches:
        return "图库里暂时没找到这张图，已经转给人工客服帮您再找找，请稍等～"
    listed = "；".join(
        f"{i}.《{m.name}》分辨率 {m.resolution}" for i, m in enumerate(result.matches, start=1)
    )
    return f"帮您在图库里找到了：{listed}。需要原图的话回复「人工」，客服马上把原图发给您～"


def reply_handoff(result: HandoffResult, reason: str) -> str:
    """The reply after handing to a human."""
    task = result.task
    if reason == "complaint":
        text = "非常抱歉给您带来不好的体验，已经把您的问题转给人工客服优先处理，请稍等～"
    elif reason == "refund":
        return "收到您的退款申请，已经转给人工客服（店长）核实处理，请稍等，马上回复您～"
    elif reason == "revision_request":
        if task is not None:
            return (
                f"收到，已经把订单 {task.task_id} 连同您的修改意见交给设计师重新修改，"
                "改好第一时间发给您～"
            )
        return "收到您的反馈，已经转给人工客服跟进，请稍等～"
    elif reason == "find_image_no_match":
        return ""
    elif reason == "retouch":
        return (
            "这类精修/设计（去路人、修脸、合成等）需要设计师人工来做，已经帮您转给人工客服，"
            "稍后按具体需求给您报价～"
        )
    else:
        text = "好的，已经为您转接人工客服，设计师/同事看到后马上回复您，请稍等片刻～"
    if task is not None:
        text += f"订单 {task.task_id} 也已交给设计师人工处理。"
    return text


# --- the whole reply ----------------------------------------------------------------------------
def _answer_formats(reading: Reading) -> list[str]:
    pieces = []
    if reading.details.cdr:
        pieces.append(FIXED["cdr"])
    fmt = reading.details.values.get("format")
    text = reading.text.lower()
    if (
        re.search(r"(?<![a-z])ai\s*(?:格式|文件|矢量|源文件|format|file)", text)
        and not reading.details.cdr
    ):
        pieces.append(AI_FORMAT)
    elif fmt and reading.has(Intent.FORMAT, Intent.CAPABILITY) and "?" in _question(reading):
        pieces.extend(FORMAT_ANSWERS[f] for f in fmt.split(",") if f in FORMAT_ANSWERS)
    return pieces


def _question(reading: Reading) -> str:
    """``?`` when the message asks something (吗/不/？/能…)."""
    text = reading.text
    asks = any(mark in text for mark in ("吗", "不", "?", "？", "能", "可以", "行", "有没有"))
    return "?" if asks else ""


def _price_lines(orders: Sequence[TaskView]) -> str:
    if len(orders) == 1:
        order = orders[0]
        return f"订单 {order.task_id}（{order.operation_label}）报价 {_price(order)}。"
    lines = "；".join(f"第 {o.picture or '?'} 张 {o.operation_label} {_price(o)}" for o in orders)
    total = sum(o.price_fen or 0 for o in orders)
    return f"{lines}，一共 {yuan(total)} 元。"


def _step_piece(step: Step, reading: Reading, state: StateResult) -> str:
    result = step.result
    if isinstance(result, ScreenResult):
        return FIXED["decline"] if result.decision == "decline" else FIXED["review"]
    if isinstance(result, QuoteResult):
        number = step.args.get("picture")
        which = "图片"
        if len(state.this_turn) > 1 and isinstance(number, int) and number in state.this_turn:
            which = f"第 {state.this_turn.index(number) + 1} 张"
        return reply_quote(result, which)
    if isinstance(result, ChangeResult):
        return reply_change(result)
    if isinstance(result, RequirementResult) and step.tool == T.ADD_REQUIREMENT:
        return reply_note(result)
    if isinstance(result, TaskListResult):
        prefix = ""
        if reading.has(Intent.INJECTION):
            prefix = FIXED["injection"]
        elif reading.has(Intent.PAID_CLAIM):
            prefix = FIXED["paid_claim"]
        return prefix + reply_tasks(result)
    if isinstance(result, ConfirmResult):
        return reply_confirm(result)
    if isinstance(result, PriceListResult):
        return reply_prices(result)
    if isinstance(result, DeliveryResult):
        return reply_delivery(result, reading)
    if isinstance(result, FindImageResult):
        return reply_find(result)
    if isinstance(result, HandoffResult):
        return reply_handoff(result, str(step.args.get("reason", "")))
    return ""


def _mentions_price(pieces: Sequence[str], order: TaskView) -> bool:
    return any(f"{order.price_yuan} 元" in piece for piece in pieces)


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[。！？～])", text) if s.strip()]


def _without_repeats(pieces: Sequence[str]) -> str:
    seen: set[str] = set()
    out = []
    for piece in pieces:
        for sentence in _sentences(piece):
            key = sentence.strip("。！？～ ")
            if key and key not in seen:
                seen.add(key)
                out.append(sentence)
    return "".join(out)


def _declined(orders: Sequence[TaskView]) -> str:
    """The answer to pictures the customer turned down: 好的，第2张（订单 …）先不做了."""
    pictures = "、".join(f"第{o.picture}张" for o in orders)
    ids = "、".join(o.task_id for o in orders)
    return f"好的，{pictures}（订单 {ids}）先不做了，没付款不会产生费用～"


def _current(state: StateResult, steps: Sequence[Step]) -> TaskView | None:
    """The order the reply should end on: the newest touched this turn, else the current one."""
    for step in reversed(steps):
        task = getattr(step.result, "task", None)
        if isinstance(task, TaskView) and (step.ok() or step.tool == T.CHANGE_OPERATION):
            return task
    pending = [o for o in state.orders if o.status == "pending"]
    named = next((o for o in state.orders if o.task_id == state.current_task_id), None)
    if named is not None and (named.status != "pending" or not pending):
        return named
    return pending[-1] if pending else (state.orders[-1] if state.orders else None)


def compose(reading: Reading, state: StateResult, context: Context, steps: Sequence[Step]) -> str:
    """The turn's reply: every tool result, the questions asked, the next step and price."""
    pieces: list[str] = []
    handed = any(s.tool in (T.HAND_TO_HUMAN, T.SCREEN_REQUEST) for s in steps)
    for step in steps:
        piece = _step_piece(step, reading, state)
        if piece:
            pieces.append(piece)
    details = reply_details(steps)
    if details:
        pieces.append(details)
    pending = [o for o in state.orders if o.status == "pending"]
    for step in steps:
        if isinstance(step.result, QuoteResult) and step.result.task is not None:
            task = step.result.task
            pending = [o for o in pending if o.task_id != task.task_id] + (
                [task] if task.status == "pending" else []
            )
    if not handed:
        pieces.extend(_info_pieces(reading, state, context, steps, pending))
    if not pieces:
        pieces.append(_small_talk(reading, state))
    current = _current(state, steps)
    if current is not None and current.status == "pending" and reading.cancels(current.picture):
        # The order just turned down is not offered again; another still waiting is.
        kept = [o for o in pending if not reading.cancels(o.picture)]
        current = kept[-1] if kept else None
    confirmed_now = any(s.tool == T.CONFIRM_RECEIPT and s.ok() for s in steps)
    if not handed and current is not None:
        if current.status == "pending" and not _mentions_price(pieces, current):
            pieces.append(f"订单 {current.task_id} 报价 {_price(current)}。")
        # A confirmation's thanks already says the order is complete.
        if not (confirmed_now and current.status == "completed"):
            pieces.append(next_step(current))
    elif not handed and state.pictures == 0 and _about_a_job(reading, context):
        pieces.append(FIXED["ask_picture"])
    text = _without_repeats(pieces)
    if state.pictures:
        text = text.replace(FIXED["ask_picture"], "")
    return opening(reading, text)


def _about_a_job(reading: Reading, context: Context) -> bool:
    return bool(
        reading.operation
        or reading.details
        or context.operation
        or reading.has(Intent.ASK_PRICE, Intent.CAPABILITY, Intent.BATCH, Intent.FORMAT)
    )


def _info_pieces(
    reading: Reading,
    state: StateResult,
    context: Context,
    steps: Sequence[Step],
    pending: Sequence[TaskView],
) -> list[str]:
    pieces: list[str] = []
    tools = {s.tool for s in steps}
    if reading.has(Intent.PRICE_CHANGE) and not reading.has(Intent.INJECTION, Intent.PAID_CLAIM):
        pieces.append(FIXED["bargain"] if not reading.has(Intent.BATCH) else "")
    if reading.has(Intent.BATCH) or reading.details.quantity:
        quantity = reading.details.quantity
        many = f"{quantity} 张" if quantity else "多张"
        pieces.append(
            f"{many}可以做的～每张按难度单独报价，图片直接一起发过来，我逐张报价；"
            "量特别大的话可以回复「人工」和店长谈批量价～"
        )
    if reading.has(Intent.CAPABILITY) and (reading.operation or context.operation):
        op = reading.operation or context.operation
        assert op is not None
        pieces.insert(0, f"可以做的～{operation_label(op)}没问题。")
    pieces.extend(_answer_formats(reading))
    if context.with_staff and state.this_turn and not reading.operation:
        pieces.append(FIXED["picture_to_staff"])
    if reading.has(Intent.HOW_TO_PAY):
        pieces.append(FIXED["how_to_pay"])
    if reading.has(Intent.CANCEL) and not any(o.status in ("paid", "processing") for o in pending):
        dropped = [o for o in pending if reading.declined and o.picture in reading.declined]
        pieces.append(_declined(dropped) if dropped else FIXED["cancel"])
    asked_price = reading.has(Intent.ASK_PRICE) or reading.has(Intent.PRICE_CHANGE)
    quoted = tools & {
        T.ANALYSE_AND_QUOTE_PICTURE,
        T.CHANGE_OPERATION,
        T.CREATE_TASK,
        T.LIST_MY_TASKS,
    }
    if asked_price and pending and not quoted:
        pieces.append(_price_lines(pending))
    if reading.details and not state.orders and not state.pictures and not quoted:
        noted = "、".join(detail_text(k, v) for k, v in reading.details.values.items())
        pieces.append(f"好的，记下了：{noted}，图片发来后按这个做～")
    return [p for p in pieces if p]


def _small_talk(reading: Reading, state: StateResult) -> str:
    if reading.has(Intent.FIND_IMAGE):
        return FIXED["ask_find"]
    if reading.has(Intent.GREETING):
        return FIXED["greeting_with_picture"] if state.pictures else FIXED["greeting"]
    if reading.has(Intent.THANKS, Intent.CONFIRM):
        return FIXED["thanks"]
    if reading.has(Intent.ACK):
        return (
            FIXED["ack"] if state.orders or state.pictures else FIXED["ack"] + FIXED["ask_picture"]
        )
    if reading.has(Intent.CHANGE):
        return FIXED["ask_change"]
    if reading.has(Intent.ASK_PROGRESS, Intent.ASK_TIME) and not state.orders:
        return FIXED["no_task"]
    if state.orders and reading.text.strip():
        return "收到～"
    if not reading.text.strip() and reading.pictures:
        return "图片收到啦～"
    return FIXED["fallback"]


def opening(reading: Reading, body: str) -> str:
    """A greeting in front of the reply when the customer greeted first."""
    if reading.has(Intent.GREETING) and body and not body.startswith("您好"):
        return "您好～" + body
    return body
