"""Helpers of the gateway tests: stand-in handlers and a running client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from ai_cs.conversations.contracts import InboundMessage, OutboundMessage
from ai_cs.gateway.client import GatewayClient
from ai_cs.gateway.sim import GatewaySimulator
from ai_cs.workflow import Workflow


class EchoHandler:
    """Answers every turn with ``收到：<text>`` (a handler that never touches a task).

    Every turn is kept in ``turns``; ``delay`` seconds pass before each answer.
    """

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.turns: list[InboundMessage] = []

    async def handle(self, message: InboundMessage) -> list[OutboundMessage]:
        self.turns.append(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        return await self.answer(message)

    async def answer(self, message: InboundMessage) -> list[OutboundMessage]:
        """The reply to one turn."""
        return [OutboundMessage(text=f"收到：{message.text}")]

    @property
    def event_ids(self) -> list[str]:
        """Every event id the handler was given, in order (a repeat means double processing)."""
        return [e for turn in self.turns for e in turn.event_ids]


def echo_handler(_workflow: Workflow) -> EchoHandler:
    """Handler factory for ``aics gateway --handler gateway_helpers:echo_handler``."""
    return EchoHandler()


class ShopDouble(EchoHandler):
    """A stand-in for the agent: a picture makes a pending task, text is echoed."""

    def __init__(self, workflow: Workflow, *, price_fen: int = 3000, delay: float = 0.0) -> None:
        super().__init__(delay)
        self.workflow = workflow
        self.price_fen = price_fen

    async def answer(self, message: InboundMessage) -> list[OutboundMessage]:
        """A pending task and its quote for a picture; text is echoed."""
        if message.attachments:
            task = await asyncio.to_thread(
                self.workflow.create_image_task,
                message.customer_id,
                message.attachments[0].url,
                "remove_bg",
                price_fen=self.price_fen,
                acc_id=message.account_id,
                acc_type=message.platform,
                conversation_id=message.conversation_id,
            )
            return [OutboundMessage(text=f"订单 {task['task_id']} 报价 30.00 元")]
        return await super().answer(message)


@contextlib.asynccontextmanager
async def running(client: GatewayClient, timeout: float = 15.0) -> AsyncIterator[GatewayClient]:
    """Run ``client`` until the block ends (connected before the block starts)."""
    stop = asyncio.Event()
    task = asyncio.create_task(client.run(stop))
    try:
        await asyncio.wait_for(client.connected.wait(), timeout)
        yield client
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout)


def make_client(workflow: Workflow, sim: GatewaySimulator, handler: Any, **options: Any) -> Any:
    """A client for ``sim`` with fast leases and the given handler."""
    options.setdefault("lease_seconds", 2.0)
    return GatewayClient(workflow, url=sim.url, handler=handler, **options)
