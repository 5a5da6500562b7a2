"""Benchmarks behind ``aics bench``.

Every benchmark measures the project's path and a baseline doing the same work in the same run
(the machines are shared and noisy, so only ratios are comparable across runs). A benchmark is a
function ``(quick: bool) -> list[BenchResult]`` registered in :data:`BENCHMARKS`.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ai_cs.conversations.contracts import InboundMessage


@dataclass(frozen=True)
class BenchResult:
    """One line of ``aics bench --json``."""

    bench: str
    value: float
    unit: str
    baseline: float
    ratio: float
    note: str = ""

    @classmethod
    def compare(
        cls,
        bench: str,
        value: float,
        unit: str,
        baseline: float,
        *,
        digits: int = 1,
        note: str = "",
        baseline_over_value: bool = False,
    ) -> BenchResult:
        """Our value against the baseline, both rounded to ``digits``.

        The ratio is value over baseline (baseline over value with ``baseline_over_value``, for
        a time where lower is better), rounded to 3 places; 0.0 when the divisor is 0.
        """
        over, under = (baseline, value) if baseline_over_value else (value, baseline)
        return cls(
            bench=bench,
            value=round(value, digits),
            unit=unit,
            baseline=round(baseline, digits),
            ratio=round(over / under, 3) if under else 0.0,
            note=note,
        )

    def to_json(self) -> dict[str, object]:
        """The CONTRACT §1 shape (plus an optional note)."""
        data = asdict(self)
        if not self.note:
            data.pop("note")
        return data


def interleaved_ms(
    first: Callable[[], object], second: Callable[[], object], repeats: int
) -> tuple[float, float]:
    """Median milliseconds of two functions run alternately, so load spikes hit both."""
    first_times: list[float] = []
    second_times: list[float] = []
    for _ in range(repeats):
        for fn, times in ((first, first_times), (second, second_times)):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(first_times), statistics.median(second_times)


def p99(values: list[float]) -> float:
    """The 99th percentile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def bench_message(conversation_id: str, customer_id: str, text: str) -> InboundMessage:
    """A text message from a benchmark customer of the shop ``bench_shop``."""
    from ai_cs.conversations.contracts import InboundMessage

    return InboundMessage(
        platform="bench",
        account_id="bench_shop",
        conversation_id=conversation_id,
        customer_id=customer_id,
        customer_nick=None,
        text=text,
    )


@asynccontextmanager
async def echo_server() -> AsyncIterator[str]:
    """A bare ``websockets`` server on loopback echoing every frame; yields its URL."""
    from websockets.asyncio.server import ServerConnection, serve

    async def echo(ws: ServerConnection) -> None:
        async for data in ws:
            await ws.send(data)

    server = await serve(echo, "127.0.0.1", 0, ping_interval=None)
    port = next(iter(server.sockets)).getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


BenchFn = Callable[[bool], list[BenchResult]]

BENCH_MODULES = (
    "ai_cs.bench.workflow",
    "ai_cs.bench.analysis",
    "ai_cs.bench.engines",
    "ai_cs.bench.queue",
    "ai_cs.bench.chat",
    "ai_cs.bench.conversations",
    "ai_cs.bench.gateway",
    "ai_cs.bench.pictures",
    "ai_cs.bench.api",
    "ai_cs.bench.startup",
)
"""Modules each exposing ``run(quick: bool) -> list[BenchResult]``; missing ones are skipped."""
