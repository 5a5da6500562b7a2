"""Gateway end to end: customer messages in → replies out, against a bare websocket echo.

``N`` customers (200; ``--quick`` 50) each write ``K`` text messages one after another through
the gateway simulator on loopback; every message is stored, acked, processed in its
conversation's lane by the offline agent (``AgentHandler``, AICS_LLM_MODEL empty), answered
through the send outbox, and confirmed with ``sent``. Measured: messages answered per second and
the 99th-percentile time from a message leaving the simulator to its reply arriving there.

The baseline does the same traffic shape over a bare ``websockets`` echo server on the same
machine (one connection, each customer's frame echoed back): the floor the transport sets.
ratio = gateway events/s ÷ echo events/s (higher is better), and for p99 latency
ratio = echo p99 ÷ gateway p99 (higher is better).

``gateway_text_events_per_s`` compares the same gateway rate with what the agent alone does:
the same number of text turns handed straight to ``AgentHandler.handle`` one after another on a
fresh database (no websocket, inbox, lanes, outbox). ratio = gateway ÷ bare agent turns/s
(goal ≥ 0.5): what the gateway's durable inbox/outbox and lanes cost around the agent.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

from ai_cs.bench import BenchResult, bench_message, echo_server, p99

if TYPE_CHECKING:
    from ai_cs.config import Settings

TEXTS: Final = ("你好", "在吗", "抠图多少钱", "能做矢量吗", "谢谢")
REPLY_TIMEOUT: Final = 30.0


def _offline_settings(data_dir: Path) -> Settings:
    """Settings for a run's own SQLite file in ``data_dir``, with the offline agent."""
    from ai_cs.config import Settings

    return Settings(
        _env_file=None,
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'bench.db'}",
        llm_model="",
    )


async def _gateway_run(customers: int, messages: int) -> tuple[float, list[float], str]:
    from ai_cs.gateway.client import GatewayClient
    from ai_cs.gateway.sim import Customer, Delivered, GatewaySimulator
    from ai_cs.workflow import Workflow

    with tempfile.TemporaryDirectory(prefix="aics-bench-gw-") as tmp:
        settings = _offline_settings(Path(tmp)).model_copy(update={"gateway_burst_window_ms": 0})
        wf = Workflow(settings=settings)
        waiting: dict[str, asyncio.Future[float]] = {}
        loop = asyncio.get_running_loop()

        def delivered(item: Delivered) -> None:
            future = waiting.pop(item.conversation_id, None)
            if future is not None and not future.done():
                future.set_result(loop.time())

        sim = GatewaySimulator(on_delivered=delivered, redeliver_after=30.0)
        stop = asyncio.Event()
        try:
            await sim.start()
            client = GatewayClient(wf, url=sim.url, burst_window_ms=0)
            runner = asyncio.create_task(client.run(stop))
            await asyncio.wait_for(client.connected.wait(), 30)
            people = [Customer(id=f"bench-{i}", nick=f"顾客{i}") for i in range(customers)]
            latencies: list[float] = []

            async def talk(person: Customer) -> None:
                for n in range(messages):
                    future: asyncio.Future[float] = loop.create_future()
                    waiting[person.conversation] = future
                    sent_at = loop.time()
                    await sim.say(person, f"{TEXTS[n % len(TEXTS)]}")
                    answered = await asyncio.wait_for(future, REPLY_TIMEOUT)
                    latencies.append(answered - sent_at)

            # One turn first, not measured: imports and the agent's first run are start-up cost.
            await talk(Customer(id="bench-warm-up"))
            latencies.clear()
            start = time.perf_counter()
            await asyncio.gather(*(talk(p) for p in people))
            elapsed = time.perf_counter() - start
            handler = type(client.handler).__name__
        finally:
            stop.set()
            if "runner" in locals():
                await runner
            await sim.stop()
            wf.close()
    return len(latencies) / elapsed, latencies, handler


async def _echo_run(customers: int, messages: int) -> tuple[float, list[float]]:
    from websockets.asyncio.client import connect

    loop = asyncio.get_running_loop()
    waiting: dict[str, asyncio.Future[float]] = {}
    latencies: list[float] = []
    async with echo_server() as url, connect(url, proxy=None) as ws:

        async def read() -> None:
            async for data in ws:
                key = json.loads(data)["event"]["conversation_id"]
                future = waiting.pop(key, None)
                if future is not None and not future.done():
                    future.set_result(loop.time())

        reader = asyncio.create_task(read())
        ids = itertools.count()

        async def talk(customer: int) -> None:
            key = f"conv-{customer}"
            for n in range(messages):
                future: asyncio.Future[float] = loop.create_future()
                waiting[key] = future
                sent_at = loop.time()
                event = {
                    "type": "event",
                    "event": {
                        "event_id": f"e-{next(ids)}",
                        "conversation_id": key,
                        "message": {"kind": "text", "text": TEXTS[n % len(TEXTS)]},
                    },
                }
                await ws.send(json.dumps(event, ensure_ascii=False))
                answered = await asyncio.wait_for(future, REPLY_TIMEOUT)
                latencies.append(answered - sent_at)

        await talk(-1)  # warm-up, as above
        latencies.clear()
        start = time.perf_counter()
        await asyncio.gather(*(talk(c) for c in range(customers)))
        elapsed = time.perf_counter() - start
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
    return len(latencies) / elapsed, latencies


async def _bare_agent_run(customers: int, messages: int) -> float:
    from ai_cs.agent.handler import AgentHandler
    from ai_cs.conversations.contracts import InboundMessage
    from ai_cs.workflow import Workflow

    with tempfile.TemporaryDirectory(prefix="aics-bench-agent-") as tmp:
        wf = Workflow(settings=_offline_settings(Path(tmp)))
        try:
            handler = AgentHandler(wf)

            def message(customer: int, n: int) -> InboundMessage:
                who = f"bench-{customer}"
                return bench_message(who, who, TEXTS[n % len(TEXTS)])

            await handler.handle(message(-1, 0))  # warm-up, as for the gateway
            start = time.perf_counter()
            for n in range(messages):
                for customer in range(customers):
                    await handler.handle(message(customer, n))
            elapsed = time.perf_counter() - start
        finally:
            wf.close()
    return customers * messages / elapsed


def run(quick: bool) -> list[BenchResult]:
    """Events/s and p99 latency through the gateway vs a bare websocket echo."""
    customers, messages = (50, 3) if quick else (200, 4)
    quiet = logging.getLogger("ai_cs")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        rate, latencies, handler = asyncio.run(_gateway_run(customers, messages))
        echo_rate, echo_latencies = asyncio.run(_echo_run(customers, messages))
        agent_rate = asyncio.run(_bare_agent_run(customers, messages))
    finally:
        quiet.setLevel(level)
    gateway_p99, echo_p99 = p99(latencies) * 1000, p99(echo_latencies) * 1000
    note = (
        f"{customers} customers × {messages} text messages, handler {handler}, SQLite; "
        f"median {statistics.median(latencies) * 1000:.0f} ms"
    )
    return [
        BenchResult("gateway_events_per_s", rate, "events/s", echo_rate, rate / echo_rate, note),
        BenchResult(
            "gateway_p99_latency", gateway_p99, "ms", echo_p99, echo_p99 / gateway_p99, note
        ),
        BenchResult(
            "gateway_text_events_per_s",
            rate,
            "events/s",
            agent_rate,
            rate / agent_rate,
            note + "; baseline: the same turns straight into AgentHandler.handle",
        ),
    ]
