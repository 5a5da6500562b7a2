"""GET /api/v1/tasks/{id} against a bare FastAPI endpoint, each in one uvicorn worker process.

Both servers run the same way (``uvicorn --factory`` in a child process on loopback, one worker,
no access log) and are loaded the same way (httpx, a few concurrent keep-alive clients, for a
fixed time after a warm-up). Ours does the real work of the route: bearer-key check (SHA-256 and
a database read), the rate limiter, the task read with its dispatch and staff-action rows, the
response model. The baseline returns a constant dict.

Two results: requests per second (ratio = ours / bare, higher is better) and the 99th
percentile latency (ratio = bare p99 / ours, also higher is better; 1.0 = no overhead).
The load generator is Python too, so on a small machine it shares the CPU with the server and
both numbers are lower than a compiled load tool would show; the ratio is what compares.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

import httpx
from fastapi import FastAPI

from ai_cs.bench import BenchResult

CLIENTS: Final = 4
WARMUP_SECONDS: Final = 0.5
READY_TIMEOUT_SECONDS: Final = 30.0


def bench_app() -> FastAPI:
    """``uvicorn --factory`` target: the real app from the environment (rate limit lifted)."""
    from ai_cs.api import create_app
    from ai_cs.config import Settings

    return create_app(Settings())


def bare_app() -> FastAPI:
    """``uvicorn --factory`` target: the baseline, a constant dict."""
    app = FastAPI()

    @app.get("/bare")
    def bare() -> dict[str, object]:
        return {"task_id": "TASK_20260227_001", "status": "pending", "count": 1}

    return app


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Server:
    """One uvicorn worker process serving ``factory``."""

    def __init__(self, factory: str, env: dict[str, str], cwd: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                factory,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def wait_ready(self, path: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        with httpx.Client(base_url=self.url, timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    err = self.process.stderr.read().decode() if self.process.stderr else ""
                    raise RuntimeError(f"bench server exited: {err[-2000:]}")
                try:
                    if client.get(path).status_code < 500:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        raise TimeoutError(f"bench server on {self.url} did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.process.stderr:
            self.process.stderr.close()


async def _load(url: str, headers: dict[str, str], seconds: float) -> tuple[float, float]:
    """Requests per second and p99 latency (ms) with :data:`CLIENTS` concurrent clients."""
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        stop_warmup = time.perf_counter() + WARMUP_SECONDS

        async def warm() -> None:
            while time.perf_counter() < stop_warmup:
                (await client.get(url, headers=headers)).raise_for_status()

        await asyncio.gather(*(warm() for _ in range(CLIENTS)))
        start = time.perf_counter()
        stop = start + seconds

        async def worker() -> None:
            while True:
                t0 = time.perf_counter()
                if t0 >= stop:
                    return
                response = await client.get(url, headers=headers)
                response.raise_for_status()
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return len(latencies) / elapsed, p99 * 1000


def _prepare(data_dir: Path) -> tuple[str, str]:
    """A database with one analysed task and a staff key; returns ``(task_id, key)``."""
    from ai_cs.auth.service import create_key
    from ai_cs.config import Settings
    from ai_cs.workflow import Workflow

    workflow = Workflow(settings=Settings(data_dir=data_dir, _env_file=None))
    try:
        task = workflow.image_analysis_result(
            "bench_customer",
            "https://xxx.com/image.jpg",
            "normal",
            "1:1",
            "no",
            acc_id="bench_shop",
            price_fen=1500,
            quote={"operation": "enhance", "total_fen": 1500, "items": []},
            risk={"decision": "accept", "reasons": []},
        )
        workflow.add_customer_requirement_sync(task["task_id"], "bench_customer", "需要去掉背景")
        with workflow.db.write() as session:
            key = create_key(session, workflow.clock, name="bench", scope="staff")
        return str(task["task_id"]), key
    finally:
        workflow.close()


def run(quick: bool) -> list[BenchResult]:
    """Task GETs per second and p99 against the bare endpoint, best of the repeats."""
    seconds = 1.5 if quick else 3.0
    repeats = 1 if quick else 2
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        task_id, key = _prepare(data_dir)
        env = {
            **os.environ,
            "AICS_DATA_DIR": str(data_dir),
            "AICS_DATABASE_URL": "",
            "AICS_RATE_LIMIT_PER_MINUTE": str(10**9),
        }
        ours = _Server("ai_cs.bench.api:bench_app", env, data_dir)
        bare = _Server("ai_cs.bench.api:bare_app", env, data_dir)
        try:
            ours.wait_ready("/healthz")
            bare.wait_ready("/bare")
            ours_rps, ours_p99, bare_rps, bare_p99 = 0.0, float("inf"), 0.0, float("inf")
            headers = {"Authorization": f"Bearer {key}"}
            for _ in range(repeats):
                rps, p99 = asyncio.run(_load(f"{bare.url}/bare", {}, seconds))
                bare_rps, bare_p99 = max(bare_rps, rps), min(bare_p99, p99)
                rps, p99 = asyncio.run(
                    _load(f"{ours.url}/api/v1/tasks/{task_id}", headers, seconds)
                )
                ours_rps, ours_p99 = max(ours_rps, rps), min(ours_p99, p99)
        finally:
            ours.stop()
            bare.stop()
    note = f"{CLIENTS} httpx clients, {seconds:g} s, one uvicorn worker, SQLite"
    return [
        BenchResult.compare("api_get_task_rps", ours_rps, "req/s", bare_rps, note=note),
        BenchResult.compare(
            "api_get_task_p99",
            ours_p99,
            "ms",
            bare_p99,
            digits=2,
            note=note,
            baseline_over_value=True,
        ),
    ]
