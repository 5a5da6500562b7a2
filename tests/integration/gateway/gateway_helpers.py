"""Helpers of the gateway tests: stand-in handlers and a running client."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn

from ai_cs.conversations.contracts import InboundMessage, OutboundMessage
from ai_cs.gateway.client import GatewayClient
from ai_cs.gateway.sim import GatewaySimulator
from ai_cs.workflow import Workflow


class EchoHandler:
    """Answers every turn with ``收到：<text>`` (a handler that never touches a task)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.turns: list[InboundMessage] = []

    async def handle(self, message: InboundMessage) -> list[OutboundMessage]:
        self.turns.append(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        return [OutboundMessage(text=f"收到：{message.text}")]


def echo_handler(_workflow: Workflow) -> EchoHandler:
    """Handler factory for ``aics gateway --handler gateway_helpers:echo_handler``."""
    return EchoHandler()


class ShopDouble:
    """A stand-in for the agent: a picture makes a pending task, text is echoed."""

    def __init__(self, workflow: Workflow, *, price_fen: int = 3000, delay: float = 0.0) -> None:
        self.workflow = workflow
        self.price_fen = price_fen
        self.delay = delay
        self.turns: list[InboundMessage] = []

    async def handle(self, message: InboundMessage) -> list[OutboundMessage]:
        self.turns.append(message)
        if self.delay:
            await asyncio.sleep(self.delay)
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
        return [OutboundMessage(text=f"收到：{message.text}")]

    @property
    def event_ids(self) -> list[str]:
        """Every event id the handler was given, in order (a repeat means double processing)."""
        return [e for turn in self.turns for e in turn.event_ids]


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


@contextlib.contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", ws="none")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()
