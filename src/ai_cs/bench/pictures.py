"""A burst of customer pictures through the gateway, analysed as jobs by worker processes.

``N`` customers (100; ``--quick`` 20) each send one different picture (a 640×480 photo-like
picture with a line of text) at the same moment through the gateway simulator on loopback.
The gateway client runs the shop's agent with ``AICS_PICTURE_JOBS`` on; ``W`` worker processes
(one per core, ``AICS_ANALYSIS_THREADS=1``) take the ``analyse_picture`` jobs from the embedded
queue on a SQLite file. Measured per picture, from the moment the simulator sent it:

- ``picture_burst_quote_p99``: until the customer received the quote. Baseline: the machine's
  limit, ``N`` × the bare single-picture analysis (``analyze_source`` of one such picture in
  this process with one OCR thread, median of 3) ÷ ``W``. ratio = value ÷ limit (goal ≤ 1.5).
- ``picture_burst_first_reply_p99``: until the customer received anything (the immediate
  "收到图片，正在看～" or the quote). Baseline: the p99 of a bare websocket round trip of the same
  burst (the transport's floor). ratio = value ÷ baseline; the goal is the value under 2,000 ms.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Final

from ai_cs.bench import BenchResult, echo_server, p99

REPLY_TIMEOUT: Final = 600.0

WORKER_SCRIPT: Final = textwrap.dedent(
    """
    import signal, sys, time
    from ai_cs.config import Settings
    from ai_cs.processing.worker import Worker
    from ai_cs.workflow import Workflow

    settings = Settings(
        _env_file=None, data_dir=sys.argv[2], picture_jobs=True, fetch_allowed_hosts=["127.0.0.1:*"]
    )
    wf = Workflow(database_url=sys.argv[1], settings=settings)
    worker = Worker(wf.db, wf.clock, settings)
    from ai_cs.jobs import presence
    presence.beat(wf.db, wf.clock, worker.worker_id, "embedded")
    from ai_cs.imaging.ocr import default_ocr
    import numpy as np
    default_ocr().read(np.full((64, 64, 3), 255, np.uint8))  # models loaded before the burst
    print("ready", flush=True)
    running = True
    def stop(*_):
        global running
        running = False
    signal.signal(signal.SIGTERM, stop)
    while running:
        if worker.run_once() is None:
            time.sleep(0.1)
    """
)


def _picture(i: int) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (640, 480), (235 - i % 20, 238, 230))
    draw = ImageDraw.Draw(img)
    draw.ellipse((80 + i % 50, 60, 560, 420), fill=(40 + i % 100, 90, 160))
    draw.rectangle((180, 200 + i % 30, 460, 300), fill=(240, 240, 240))
    draw.text((200, 240), f"SHOP {i:03d} OPEN", fill=(10, 10, 10))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def _bare_analysis_seconds(tmp: Path) -> float:
    from ai_cs.config import Settings
    from ai_cs.imaging.ocr import RapidOcrEngine
    from ai_cs.imaging.report import analyze_source

    settings = Settings(_env_file=None, data_dir=tmp / "bare")
    ocr = RapidOcrEngine(threads=1)
    analyze_source(_picture(999), settings, ocr=ocr)  # models loaded
    times = []
    for i in range(3):
        start = time.perf_counter()
        analyze_source(_picture(900 + i), settings, ocr=ocr)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _start_workers(url: str, data_dir: Path, count: int) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "AICS_ANALYSIS_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "OPENCV_FOR_THREADS_NUM": "1",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER_SCRIPT, url, str(data_dir)],
            stdout=subprocess.PIPE,
            env=env,
        )
        for _ in range(count)
    ]
    for worker in workers:
        assert worker.stdout is not None
        if worker.stdout.readline().strip() != b"ready":
            raise RuntimeError("a picture worker did not start")
    return workers


def _stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)
        if worker.stdout is not None:
            worker.stdout.close()


async def _burst(customers: int, workers: int) -> tuple[list[float], list[float], int, float]:
    from ai_cs.agent.handler import AgentHandler
    from ai_cs.agent.intent_model import intent_model
    from ai_cs.config import Settings
    from ai_cs.gateway.client import GatewayClient
    from ai_cs.gateway.sim import Customer, Delivered, GatewaySimulator
    from ai_cs.workflow import Workflow

    intent_model()
    with tempfile.TemporaryDirectory(prefix="aics-bench-pic-") as tmp:
        data_dir = Path(tmp) / "data"
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        settings = Settings(
            _env_file=None,
            data_dir=data_dir,
            database_url=url,
            llm_model="",
            gateway_burst_window_ms=0,
            picture_jobs=True,
            fetch_allowed_hosts=["127.0.0.1:*"],
        )
        wf = Workflow(settings=settings)
        loop = asyncio.get_running_loop()
        sent: dict[str, float] = {}
        first: dict[str, float] = {}
        quoted: dict[str, float] = {}
        done = asyncio.Event()

        def delivered(item: Delivered) -> None:
            conv = item.conversation_id
            now = loop.time()
            first.setdefault(conv, now)
            if "元" in item.text and conv not in quoted:
                quoted[conv] = now
                if len(quoted) >= customers:
                    done.set()

        sim = GatewaySimulator(on_delivered=delivered, redeliver_after=60.0)
        procs = _start_workers(url, data_dir, workers)
        stop = asyncio.Event()
        try:
            await sim.start()
            people = [Customer(id=f"pic-{i}", nick=f"顾客{i}") for i in range(customers)]
            pictures = [sim.add_picture(f"p{i}.png", _picture(i)) for i in range(customers)]
            client = GatewayClient(wf, url=sim.url, handler=AgentHandler(wf), burst_window_ms=0)
            runner = asyncio.create_task(client.run(stop))
            await asyncio.wait_for(client.connected.wait(), 30)

            async def send(person: Customer, picture: str) -> None:
                sent[person.conversation] = loop.time()
                await sim.send_picture(person, picture, text="帮我抠图")

            burst_wall = time.time()
            await asyncio.gather(*(send(p, u) for p, u in zip(people, pictures, strict=True)))
            await asyncio.wait_for(done.wait(), REPLY_TIMEOUT)
            # When the workers had stored the last analysis: the rest of p99 is the turns'.
            stored = [p.stat().st_mtime for p in (data_dir / "analyses").rglob("*.json")]
            analysed_ms = (max(stored) - burst_wall) * 1000 if stored else float("nan")
        finally:
            stop.set()
            if "runner" in locals():
                await runner
            await sim.stop()
            _stop_workers(procs)
            wf.close()
    quote_ms = [(quoted[c] - sent[c]) * 1000 for c in quoted]
    first_ms = [(first[c] - sent[c]) * 1000 for c in first]
    return quote_ms, first_ms, len(quoted), analysed_ms


async def _echo_p99(customers: int) -> float:
    from websockets.asyncio.client import connect

    loop = asyncio.get_running_loop()
    started: dict[str, float] = {}
    latencies: list[float] = []
    async with echo_server() as url, connect(url, proxy=None) as ws:
        for i in range(customers):
            started[str(i)] = loop.time()
            await ws.send(str(i))
        for _ in range(customers):
            key = str(await ws.recv())
            latencies.append((loop.time() - started[key]) * 1000)
    return p99(latencies)


def run(quick: bool) -> list[BenchResult]:
    """p99 picture → quote and picture → first reply of a burst, against their baselines."""
    customers = 20 if quick else 100
    workers = max(1, os.cpu_count() or 1)
    quiet = logging.getLogger("ai_cs")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with tempfile.TemporaryDirectory(prefix="aics-bench-bare-") as tmp:
            bare = _bare_analysis_seconds(Path(tmp))
        quote_ms, first_ms, answered, analysed_ms = asyncio.run(_burst(customers, workers))
        echo = asyncio.run(_echo_p99(customers))
    finally:
        quiet.setLevel(level)
    limit_ms = customers * bare * 1000 / workers
    note = (
        f"{customers} pictures at once, {workers} worker processes (1 OCR thread each), "
        f"embedded queue on SQLite; bare analysis {bare * 1000:.0f} ms; {answered} quoted; "
        f"quote p50 {statistics.median(quote_ms):.0f} ms; last analysis stored after "
        f"{analysed_ms:.0f} ms"
    )
    quote_p99, first_p99 = p99(quote_ms), p99(first_ms)
    return [
        BenchResult.compare("picture_burst_quote_p99", quote_p99, "ms", limit_ms, note=note),
        BenchResult(
            "picture_burst_first_reply_p99",
            round(first_p99, 1),
            "ms",
            round(echo, 2),
            round(first_p99 / echo, 1) if echo else 0.0,
            note + "; baseline: bare websocket round trip p99 of the same burst",
        ),
    ]
