"""Benchmark: offline agent text turns against the bare pydantic-ai ``FunctionModel`` round trip.

Value: full customer text turns through :class:`~ai_cs.agent.handler.AgentHandler` on a
fresh SQLite file — store the message, load the memory, run the agent with the offline policy
and its tools (orders, price list), store the reply and the memory. Baseline: ``Agent.run`` of a
bare ``FunctionModel`` that answers with fixed text (no tools, no database). Results: turns per
second (ratio = value / baseline, below 1 is slower) and p50/p99 latency in milliseconds
(ratio = value / baseline, above 1 is slower). Both run interleaved so load spikes hit both.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from ai_cs.bench import BenchResult, bench_message

TEXTS = ("你好", "多少钱", "进度怎么样了", "抠图多少钱", "谢谢", "我的订单好了吗")
CONVERSATIONS = 8


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


async def _measure(turns: int, data_dir: Path) -> tuple[list[float], list[float]]:
    from pydantic_ai import Agent
    from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
    from pydantic_ai.models.function import AgentInfo, FunctionModel

    from ai_cs.agent.handler import AgentHandler
    from ai_cs.config import Settings
    from ai_cs.conversations.contracts import InboundMessage
    from ai_cs.imaging.ocr import StaticOcr
    from ai_cs.workflow import Workflow

    async def fixed(_messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        return ModelResponse(parts=[TextPart(content="您好～")])

    bare: Agent[None, str] = Agent(FunctionModel(fixed))
    settings = Settings(data_dir=data_dir, _env_file=None)
    workflow = Workflow(settings=settings)
    try:
        for c in range(CONVERSATIONS):
            workflow.create_image_task(
                f"bench_customer_{c}", "https://example.com/p.jpg", "remove_bg", price_fen=2500
            )
        handler = AgentHandler(workflow, ocr=StaticOcr())

        def message(i: int) -> InboundMessage:
            c = i % CONVERSATIONS
            return bench_message(f"bench_conv_{c}", f"bench_customer_{c}", TEXTS[i % len(TEXTS)])

        for i in range(CONVERSATIONS):  # warm-up: imports, first connections, conversations
            await handler.handle(message(i))
            await bare.run("您好")
        ours: list[float] = []
        base: list[float] = []
        for i in range(turns):
            start = time.perf_counter()
            replies = await handler.handle(message(i))
            ours.append((time.perf_counter() - start) * 1000)
            if not replies:
                raise RuntimeError("the agent gave no reply in the benchmark")
            start = time.perf_counter()
            await bare.run(TEXTS[i % len(TEXTS)])
            base.append((time.perf_counter() - start) * 1000)
        return ours, base
    finally:
        workflow.close()


def run(quick: bool) -> list[BenchResult]:
    """Time offline agent text turns and the bare FunctionModel round trip."""
    turns = 40 if quick else 300
    with tempfile.TemporaryDirectory(prefix="aics-bench-chat-") as tmp:
        ours, base = asyncio.run(_measure(turns, Path(tmp)))
    note = (
        f"{turns} text turns, {CONVERSATIONS} conversations, SQLite; baseline = bare FunctionModel"
    )
    tps, base_tps = 1000 / statistics.mean(ours), 1000 / statistics.mean(base)
    results = [
        BenchResult(
            "chat_turns_per_s",
            round(tps, 1),
            "turns/s",
            round(base_tps, 1),
            round(tps / base_tps, 4),
            note,
        )
    ]
    for name, share in (("chat_turn_p50_ms", 0.5), ("chat_turn_p99_ms", 0.99)):
        value, baseline = _percentile(ours, share), _percentile(base, share)
        results.append(
            BenchResult(
                name,
                round(value, 2),
                "ms",
                round(baseline, 3),
                round(value / baseline, 2) if baseline else 0.0,
                note,
            )
        )
    return results
