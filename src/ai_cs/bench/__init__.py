"""Benchmarks behind ``aics bench``.

Every benchmark measures the project's path and a baseline doing the same work in the same run
(the machines are shared and noisy, so only ratios are comparable across runs). A benchmark is a
function ``(quick: bool) -> list[BenchResult]`` registered in :data:`BENCHMARKS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class BenchResult:
    """One line of ``aics bench --json``."""

    bench: str
    value: float
    unit: str
    baseline: float
    ratio: float
    note: str = ""

    def to_json(self) -> dict[str, object]:
        """The CONTRACT §1 shape (plus an optional note)."""
        data = asdict(self)
        if not self.note:
            data.pop("note")
        return data


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
