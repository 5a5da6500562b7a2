"""What the shop itself tells a customer about an order, outside the agent's replies.

Payment receipts, "your result is ready" and "a designer has it" are said by the gateway, the
terminal chat and the delivery loop alike; they are written once, here, in the shop's own words.
"""

from __future__ import annotations

from typing import Final

from ai_cs.core.money import yuan

PAYMENT_APPLIED: Final = "applied"
PAYMENT_NOT_PENDING: Final = "ignored_not_pending"
PAYMENT_AMOUNT_MISMATCH: Final = "amount_mismatch"

STATUS_NAMES: Final[dict[str, str]] = {
    "pending": "待付款",
    "paid": "已付款",
    "processing": "处理中",
    "awaiting_confirm": "待确认收货",
    "completed": "已完成",
    "failed": "处理失败",
    "with_designer": "设计师处理中",
    "cancelled": "已取消",
    "refunded": "已退款",
}
"""Each status by one name for everyone: the agent's replies, receipts, the chat, the console."""


def payment_received(
    outcome: str,
    task_id: str | None,
    paid_fen: int | None,
    *,
    price_fen: int | None = None,
    status: str | None = None,
) -> str:
    """The receipt for a payment event, by what applying it did."""
    paid = f" {yuan(paid_fen)} 元" if paid_fen is not None else ""
    if outcome == PAYMENT_APPLIED and task_id:
        return f"已收到您的付款{paid}，订单 {task_id} 开始处理啦，完成后第一时间发给您～"
    if outcome == PAYMENT_AMOUNT_MISMATCH and task_id:
        quoted = f" {yuan(price_fen)} 元" if price_fen is not None else ""
        return (
            f"收到您的付款{paid}，但和订单 {task_id} 的报价{quoted}不一致，"
            "已转人工核对，请稍候，给您添麻烦了。"
        )
    if outcome == PAYMENT_NOT_PENDING and task_id:
        name = STATUS_NAMES.get(status or "", status or "")
        return (
            f"收到您的付款{paid}。订单 {task_id} 当前是「{name}」，"
            "这笔付款已记录，客服会尽快和您核对。"
        )
    return f"收到您的付款{paid}，但暂时没找到待付款的订单。付款已记录，客服会尽快和您核对。"


def result_ready(task_id: str, where: str, *, link_days: int | None = None) -> str:
    """The result is done: where to get it, and how to confirm or ask for changes."""
    valid = f"（{link_days} 天内有效）" if link_days else ""
    return (
        f"您的订单 {task_id} 已处理完成✅\n"
        f"下载结果：{where}{valid}\n"
        "满意请回复「确认」；需要修改请回复「重做」并说明要求，我们马上安排～"
    )


def with_designer(task_id: str) -> str:
    """Automation could not do it well enough: a person takes over."""
    return (
        f"订单 {task_id} 自动处理没有达到我们的质量要求，已安排设计师人工精修，"
        "完成后第一时间发给您，请稍等～"
    )
