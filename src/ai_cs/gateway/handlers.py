"""Message handlers the gateway can run: the agent by default, simpler ones for tests and dev.

The gateway takes a *factory* ``(workflow) -> MessageHandler`` so tests inject their own.
:func:`default_handler_factory` uses the customer-service agent (``ai_cs.agent``) when it is
importable, else :class:`BasicShopHandler`, a small rule-based stand-in that covers the process-
image path (picture → analysis, risk and quote → task; notes; change of operation) so the
gateway, the simulator and ``aics demo`` work on their own.

A handler that answers result confirmations itself (确认/重做 through its own tools) sets the
attribute ``handles_result_replies = True``; the gateway then leaves those turns to it instead of
completing the task or handing it to a designer on its own.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from ai_cs.conversations.contracts import InboundMessage, MessageHandler, OutboundMessage
from ai_cs.core.tasks import Operation
from ai_cs.errors import AicsError

if TYPE_CHECKING:
    from ai_cs.workflow import Workflow

log = logging.getLogger(__name__)

HandlerFactory = Callable[["Workflow"], MessageHandler]

AGENT_FACTORIES: Final = (
    ("ai_cs.agent.handler", "create_message_handler"),
    ("ai_cs.agent", "create_message_handler"),
)
"""Where the agent's handler factory ``(workflow) -> MessageHandler`` is looked for, in order."""


def agent_handler_factory() -> HandlerFactory | None:
    """The agent's handler factory when the agent package provides one."""
    for module_name, attr in AGENT_FACTORIES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and module_name.startswith(exc.name):
                continue
            raise
        factory = getattr(module, attr, None)
        if callable(factory):
            return factory  # type: ignore[no-any-return]
    return None


def default_handler_factory(workflow: Workflow) -> MessageHandler:
    """The agent when available, else :class:`BasicShopHandler`."""
    factory = agent_handler_factory()
    if factory is not None:
        return factory(workflow)
    log.info("ai_cs.agent has no handler factory yet; using the basic rule-based handler")
    return BasicShopHandler(workflow)


class EchoHandler:
    """Answers every turn with ``收到：<text>`` (tests, benchmarks, ``--handler echo``)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.turns: list[InboundMessage] = []

    async def handle(self, message: InboundMessage) -> list[OutboundMessage]:
        """One echo per turn, after ``delay`` seconds."""
        self.turns.append(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        return [OutboundMessage(text=f"收到：{message.text}")]


# --- the basic shop handler -----------------------------------------------------------------------
OPERATION_WORDS: Final[tuple[tuple[Operation, tuple[str, ...]], ...]] = (
    (Operation.REMOVE_BG_AND_LAYER, ("分层", "psd", "图层")),
    (Operation.VECTORIZE, ("矢量", "svg", "描图", "ai格式")),
    (Operation.REMOVE_BG, ("抠图", "去背景", "去掉背景", "白底", "透明底")),
    (Operation.ENHANCE, ("高清", "变清晰", "清晰", "修复", "去模糊")),
)
"""Phrases naming an operation; the first row that matches wins (分层 before 抠图)."""
CHANGE_WORDS: Final = ("改成", "换成", "改为", "换为", "改做")
OPERATION_NAMES: Final = {
    Operation.ENHANCE: "画质增强",
    Operation.REMOVE_BG: "抠图去背景",
    Operation.VECTORIZE: "转矢量",
    Operation.REMOVE_BG_AND_LAYER: "抠图并分层（PSD）",
}


def operation_in(text: str) -> Operation | None:
    """The operation a customer's words name, if any."""
    low = text.lower()
    for op, words in OPERATION_WORDS:
        if any(w in low for w in words):
            return op
    return None


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


class BasicShopHandler:
    """A small rule-based shop assistant (the stand-in while no agent is installed).

    Picture → analysis, risk and quote → a pending task; ``改成…`` with an operation word →
    the operation changes (re-quoted); other text while a task waits for payment → a note.
    """

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow

    async def handle(self, message: InboundMessage) -> list[OutboundMessage]:
        """Answer one customer turn."""
        return await asyncio.to_thread(self._handle, message)

    def _pending_task(self, customer_id: str) -> dict[str, Any] | None:
        tasks = self.workflow.get_customer_tasks(customer_id, status="pending")
        return tasks[0] if tasks else None

    def _handle(self, message: InboundMessage) -> list[OutboundMessage]:
        try:
            if message.attachments:
                return self._picture(message)
            return self._text(message)
        except AicsError as exc:
            log.info("basic handler: %s", exc.message)
            return [
                OutboundMessage(text=f"抱歉，这一步没有办成：{exc.message}。客服会尽快帮您处理。")
            ]

    def _picture(self, message: InboundMessage) -> list[OutboundMessage]:
        from ai_cs.imaging.report import analyze_source

        url = message.attachments[0].url
        op = operation_in(message.text)
        report = analyze_source(
            url, self.workflow.settings, operation=op, request_text=message.text
        )
        if report.risk.decision.value == "decline":
            reasons = "；".join(r.message for r in report.risk.reasons[:2])
            return [OutboundMessage(text=f"抱歉，这张图片我们不能接单（{reasons}）。")]
        analysis = report.analysis
        task = self.workflow.image_analysis_result(
            message.customer_id,
            url,
            analysis.complexity.value,
            analysis.aspect_ratio,
            analysis.perspective,
            operation=report.operation.value,
            customer_name=message.customer_nick,
            customer_notes=None,
            acc_id=message.account_id,
            acc_type=message.platform,
            price_fen=report.quote.total_fen,
            quote=report.quote.model_dump(mode="json"),
            risk=report.risk.model_dump(mode="json"),
            conversation_id=message.conversation_id,
            **{k: v for k, v in analysis.to_requirements().items() if k not in _SEED_KEYS},
        )
        text_note = "（图中有文字，已按文字加价）" if report.quote.surcharge.applied else ""
        review = "，需要人工再确认一下细节" if report.risk.decision.value == "review" else ""
        return [
            OutboundMessage(
                text=(
                    f"收到图片～已为您创建订单 {task['task_id']}："
                    f"{OPERATION_NAMES[report.operation]}，"
                    f"报价 {_yuan(report.quote.total_fen)} 元{text_note}{review}。"
                    "还有要求可以直接告诉我，确认后拍下付款即可开始处理。"
                )
            )
        ]

    def _text(self, message: InboundMessage) -> list[OutboundMessage]:
        task = self._pending_task(message.customer_id)
        if task is None:
            return [
                OutboundMessage(
                    text="您好～请发送需要处理的图片，并告诉我要做什么（抠图/变清晰/转矢量/分层文件）。"
                )
            ]
        op = operation_in(message.text)
        if op is not None and any(w in message.text for w in CHANGE_WORDS):
            return self._change_operation(task, op, message)
        self.workflow.add_customer_requirement_sync(
            task["task_id"], message.customer_id, message.text
        )
        return [OutboundMessage(text=f"好的，已记下：{message.text}")]

    def _change_operation(
        self, task: dict[str, Any], op: Operation, message: InboundMessage
    ) -> list[OutboundMessage]:
        from ai_cs.imaging.report import analyze_source
        from ai_cs.tasks import service

        report = analyze_source(task["original_image"], self.workflow.settings, operation=op)
        updated = self.workflow.db.run_write(
            lambda s: service.modify_operation(
                s,
                self.workflow.clock,
                task_id=task["task_id"],
                customer_id=message.customer_id,
                new_operation=op.value,
                new_price_fen=report.quote.total_fen,
                new_quote=report.quote.model_dump(mode="json"),
            )
        )
        return [
            OutboundMessage(
                text=(
                    f"好的，订单 {updated['task_id']} 已改为{OPERATION_NAMES[op]}，"
                    f"新报价 {_yuan(report.quote.total_fen)} 元。"
                )
            )
        ]


_SEED_KEYS: Final = frozenset({"complexity", "aspect_ratio", "perspective"})
