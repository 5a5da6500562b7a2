"""The scale-out load and fault suite (``uv run python bench/scale.py`` / ``aics bench --scale``).

On this machine against the local PostgreSQL it starts, as separate processes, N API servers
(``aics serve --no-worker --no-dispatch``), M Procrastinate workers (``aics worker``), one
dispatch service and one gateway client, all on a fresh database that is dropped afterwards. The
gateway simulator runs here, in this process, with K concurrent customers: each sends a picture
(served on loopback), adds a note, pays (the payment event duplicated, sometimes announced again
under a new event id), waits for the result link, fetches it through an API process and
confirms. Meanwhile API load goes round-robin over the API processes (failing over, as a load
balancer would). In the middle one worker and one API process are SIGKILLed and restarted, the
gateway connection is cut, and with ``--pg-restart`` PostgreSQL is restarted.

Then :func:`~ai_cs.bench.scale_tally.tally` counts lost and doubled events, tasks, payments,
jobs, notes and sends from the database and the simulator's record; the exit code is 1 unless
every count is zero. A second phase measures processing throughput (``enhance`` on 1 MP
pictures) with 1 and 2 workers, with OpenCV's default threads and with one thread per worker.

With ``--picture-jobs`` every process runs with ``AICS_PICTURE_JOBS=1`` and one
OpenCV/onnxruntime thread (``AICS_ANALYSIS_THREADS=1``): the load phase also times text turns
sent while some picture is still being analysed and each picture's first reply, and the second
phase measures picture → quote throughput instead (a burst of different pictures through the
gateway client, analysed by 1 and then 2 workers).

Traffic goes only to 127.0.0.1; every wait is bounded; every process started is killed by its
process group in ``finally``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import httpx
import numpy as np
import psycopg
from PIL import Image

from ai_cs import datafiles
from ai_cs.bench import BenchResult
from ai_cs.bench.scale_tally import (
    PAYMENT_ACK_MARK,
    RESULT_MARK,
    Ledger,
    Observed,
    percentile,
    tally,
)
from ai_cs.jobs.queue import ANALYSE_PICTURE

ADMIN_URL: Final = os.environ.get(
    "AICS_SCALE_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
"""A PostgreSQL database the suite connects to only to CREATE and DROP its own database."""
CV_THREADS_ENV: Final = "AICS_SCALE_CV_THREADS"
"""Set in a worker's environment: the launcher calls ``cv2.setNumThreads`` with it."""
LOOPBACK: Final = "127.0.0.1"
LINK = re.compile(r"https?://[^\s（）()]+/r/([A-Za-z0-9_\-]+)")
TERMINAL_BATCH_STATUSES: Final = ("awaiting_confirm", "completed", "with_designer", "failed")

# Launches `aics` in a child, optionally with OpenCV limited to N threads (why: OpenCV starts
# one thread per core in every process, so two workers on two cores fight over them).
_LAUNCHER = (
    "import os, sys\n"
    "n = os.environ.get('AICS_SCALE_CV_THREADS')\n"
    "if n:\n"
    "    import cv2\n"
    "    cv2.setNumThreads(int(n))\n"
    "from ai_cs.cli import main\n"
    "sys.argv = ['aics', *sys.argv[1:]]\n"
    "main()\n"
)


@dataclass
class ScaleConfig:
    """Sizes and switches of one run."""

    api_processes: int = 2
    workers: int = 2
    customers: int = 50
    pg_restart: bool = False
    throughput_tasks: int = 12
    throughput_rounds: int = 1
    step_timeout: float = 120.0
    deadline: float = 420.0
    ramp_seconds: float = 10.0
    throughput: bool = True
    load: bool = True
    keep_logs: bool = False
    admin_url: str = ADMIN_URL
    picture_jobs: bool = False
    picture_batch: int = 40

    @classmethod
    def preset(cls, quick: bool) -> ScaleConfig:
        """The quick (CI-sized) or full configuration."""
        if quick:
            return cls()
        return cls(
            customers=200,
            throughput_tasks=24,
            throughput_rounds=2,
            step_timeout=300.0,
            deadline=1500.0,
            ramp_seconds=40.0,
        )


@dataclass
class ScaleReport:
    """What one run measured."""

    ledger: Ledger
    numbers: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def results(self) -> list[BenchResult]:
        """The ``aics bench`` lines of this run.

        Ratios: lost/doubled totals 1.0 when the run is clean, else 0.0; rates have no baseline
        (ratio 1.0); latencies use the same run's p50 as baseline (ratio p50 ÷ p99); the worker
        lines are 2 workers ÷ 1 worker.
        """
        n = self.numbers
        out = [
            BenchResult(
                "scale_lost_total", self.ledger.total_lost, "items", 0.0, 1.0 if self.ok else 0.0
            ),
            BenchResult(
                "scale_doubled_total",
                self.ledger.total_doubled,
                "items",
                0.0,
                1.0 if self.ok else 0.0,
            ),
        ]
        for name, unit in (
            ("scale_events_per_s", "events/s"),
            ("scale_tasks_completed_per_s", "tasks/s"),
            ("scale_api_requests_per_s", "req/s"),
        ):
            if name in n:
                out.append(BenchResult(name, n[name], unit, n[name], 1.0))
        for name in (
            "scale_message_reply_p99_ms",
            "scale_text_reply_p99_ms",
            "scale_text_reply_during_pictures_p99_ms",
            "scale_picture_first_reply_p99_ms",
            "scale_payment_result_p99_ms",
            "scale_api_p99_ms",
        ):
            if name in n:
                p50 = n.get(name.replace("p99", "p50"), n[name])
                out.append(
                    BenchResult(
                        name,
                        n[name],
                        "ms",
                        p50,
                        p50 / n[name] if n[name] else 1.0,
                        note="baseline is the p50 of the same run",
                    )
                )
        for threads in ("default", "1"):
            one = n.get(f"throughput_1w_{threads}_tasks_per_s")
            two = n.get(f"throughput_2w_{threads}_tasks_per_s")
            if one and two:
                out.append(
                    BenchResult(
                        f"scale_workers_2v1_cv_threads_{threads}",
                        two,
                        "tasks/s",
                        one,
                        two / one,
                        note="enhance on 1 MP pictures; baseline is 1 worker; goal ratio ≥ 1.6",
                    )
                )
        one, two = n.get("pictures_1w_per_s"), n.get("pictures_2w_per_s")
        if one and two:
            out.append(
                BenchResult(
                    "scale_picture_quote_workers_2v1",
                    two,
                    "pictures/s",
                    one,
                    two / one,
                    note="picture → quote through the gateway, AICS_PICTURE_JOBS, one "
                    "OpenCV/onnxruntime thread per process; baseline is 1 worker; goal ratio ≥ 1.7",
                )
            )
        return out

    @property
    def ok(self) -> bool:
        """Nothing lost and nothing doubled."""
        return self.ledger.clean


# ------------------------------------------------------------------------------------ processes
def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@dataclass
class Child:
    """One started process (its own process group, so its children die with it)."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    port: int | None = None


class Fleet:
    """The processes of one run: start, SIGKILL, restart, stop them all."""

    def __init__(self, workdir: Path, base_env: dict[str, str]) -> None:
        self.workdir = workdir
        self.base_env = base_env
        self.children: dict[str, Child] = {}

    def start(
        self,
        name: str,
        args: list[str],
        *,
        env: dict[str, str] | None = None,
        port: int | None = None,
    ) -> Child:
        """Start ``aics ARGS`` as ``name`` (logs in the work dir)."""
        child = self.children.get(name) or Child(
            name, args, {**self.base_env, **(env or {})}, self.workdir / f"{name}.log", port=port
        )
        self.children[name] = child
        log = child.log_path.open("ab")
        try:
            child.proc = subprocess.Popen(
                [sys.executable, "-c", _LAUNCHER, *child.args],
                env=child.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            log.close()
        return child

    def kill(self, name: str) -> None:
        """SIGKILL the process group of ``name`` (a crash, no clean shutdown) and reap it."""
        child = self.children[name]
        if child.proc is None or child.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.proc.pid, signal.SIGKILL)
        child.proc.wait(timeout=10)

    def restart(self, name: str) -> Child:
        """Start ``name`` again with the same arguments."""
        child = self.children[name]
        return self.start(name, child.args, port=child.port)

    def stop(self, name: str, grace: float = 10.0) -> None:
        """SIGTERM the group, then SIGKILL whatever is left after ``grace`` seconds."""
        child = self.children.get(name)
        if child is None or child.proc is None or child.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.proc.pid, signal.SIGTERM)
        try:
            child.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.proc.pid, signal.SIGKILL)
            child.proc.wait(timeout=10)

    def stop_all(self) -> None:
        """Stop every child (used in ``finally``)."""
        for name in list(self.children):
            self.stop(name, grace=5.0)

    def cpu_seconds(self, name: str) -> float:
        """CPU time (user + system) ``name``'s current process has used so far; 0 when gone.

        Read from ``/proc`` (Linux), so a run can say which process was busy.
        """
        child = self.children.get(name)
        if child is None or child.proc is None or child.proc.poll() is not None:
            return 0.0
        try:
            stat = Path(f"/proc/{child.proc.pid}/stat").read_text()
        except OSError:
            return 0.0
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def tail(self, name: str, lines: int = 15) -> str:
        """The last lines of a child's log (for error reports)."""
        path = self.children[name].log_path
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_http(url: str, timeout: float = 60.0) -> bool:
    """Poll ``url`` until it answers 200 (bounded by ``timeout``)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if client.get(url).status_code == 200:
                    return True
            time.sleep(0.2)
    return False


# ------------------------------------------------------------------------------------ database
@contextlib.contextmanager
def scratch_database(admin_url: str = ADMIN_URL) -> Any:
    """Create a fresh database for the run, yield its SQLAlchemy URL, drop it afterwards."""
    libpq = admin_url.replace("postgresql+psycopg://", "postgresql://", 1)
    name = f"aics_scale_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        # FORCE: a SIGKILLed child may have left a backend behind; only our database is dropped.
        for _ in range(10):
            try:
                with psycopg.connect(libpq, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                break
            except psycopg.OperationalError:
                time.sleep(1.0)  # PostgreSQL may be coming back from a restart


def pg_version() -> str:
    """The local cluster's major version (``/etc/postgresql/<version>``)."""
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir() if p.is_dir())
    return versions[-1]


def restart_postgres() -> float:
    """``pg_ctlcluster … restart`` of the local cluster; returns how long it took."""
    started = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", pg_version(), "main", "restart"],
        check=True,
        timeout=120,
        capture_output=True,
    )
    return time.monotonic() - started


def rows(db_url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one read query on a new connection (survives a PostgreSQL restart)."""
    libpq = db_url.replace("postgresql+psycopg://", "postgresql://", 1)
    for attempt in range(10):
        try:
            with psycopg.connect(libpq) as conn:
                return [tuple(r) for r in conn.execute(sql, params).fetchall()]
        except psycopg.OperationalError:
            if attempt == 9:
                raise
            time.sleep(1.0)
    return []


# ------------------------------------------------------------------------------------ pictures
def photo_like(size: tuple[int, int], seed: int) -> bytes:
    """A PNG with gradients, shapes and noise: something ``enhance`` has work to do on."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack(
        [
            120 + 80 * np.sin(x / 57.0),
            110 + 70 * np.cos(y / 43.0),
            100 + 60 * np.sin((x + y) / 91.0),
        ],
        axis=-1,
    )
    for _ in range(12):
        cx, cy, r = rng.integers(0, w), rng.integers(0, h), rng.integers(20, 140)
        mask = (x - cx) ** 2 + (y - cy) ** 2 < r * r
        base[mask] = rng.integers(0, 255, 3)
    noisy = base + rng.normal(0, 12, base.shape)
    img = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


# ------------------------------------------------------------------------------------ the run
class ScaleRun:
    """One run of the suite; :meth:`execute` does everything and always cleans up."""

    def __init__(self, config: ScaleConfig, echo: Any = print) -> None:
        self.config = config
        self.echo = echo
        self.report = ScaleReport(Ledger())

    def execute(self) -> ScaleReport:
        """Run both phases on a scratch database and work dir; clean everything up."""
        workdir = Path(tempfile.mkdtemp(prefix="aics-scale-"))
        try:
            with scratch_database(self.config.admin_url) as db_url:
                fleet = Fleet(workdir, self._env(db_url, workdir))
                try:
                    self._run(fleet, db_url, workdir)
                finally:
                    fleet.stop_all()
        finally:
            if self.config.keep_logs:
                self.echo(f"logs kept in {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
        return self.report

    def _env(self, db_url: str, workdir: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AICS_")}
        env.update(
            AICS_DATABASE_URL=db_url,
            AICS_DATA_DIR=str(workdir / "data"),
            AICS_QUEUE_BACKEND="procrastinate",
            AICS_FETCH_ALLOWED_HOSTS=f"{LOOPBACK}:*",
            AICS_HOST=LOOPBACK,
            # The suite measures throughput; the per-key limit would measure the limiter.
            AICS_RATE_LIMIT_PER_MINUTE="1000000",
            AICS_DISPATCH_CALLBACK_SECRET="scale-suite-secret",
        )
        if self.config.picture_jobs:
            # One analysis per core: every process gets one OpenCV and one onnxruntime thread.
            env.update(
                AICS_PICTURE_JOBS="1",
                AICS_ANALYSIS_THREADS="1",
                OMP_NUM_THREADS="1",
                **{CV_THREADS_ENV: "1"},
            )
        return env

    def _run(self, fleet: Fleet, db_url: str, workdir: Path) -> None:
        cfg = self.config
        env = fleet.base_env
        self._aics(env, "db", "upgrade")
        key = self._aics(env, "keys", "create", "--name", "scale-suite", "--scope", "staff")
        dispatch_key = self._aics(env, "keys", "create", "--name", "relay", "--scope", "admin")
        dispatch_port = free_port()
        api_ports = [free_port() for _ in range(cfg.api_processes)]
        shared = {
            "AICS_DISPATCH_URL": f"http://{LOOPBACK}:{dispatch_port}",
            "AICS_DISPATCH_API_KEY": dispatch_key,
            "AICS_PUBLIC_BASE_URL": f"http://{LOOPBACK}:{api_ports[0]}",
            # Where the dispatch service calls back when a designer finishes (the load balancer
            # in a deployment; the first API process here).
            "AICS_API_URL": f"http://{LOOPBACK}:{api_ports[0]}",
        }
        fleet.base_env.update(shared)
        fleet.start("dispatch", ["dispatch", "--port", str(dispatch_port)])
        for i, port in enumerate(api_ports):
            fleet.start(
                f"api-{i + 1}",
                ["serve", "--no-worker", "--no-dispatch"],
                env={"AICS_API_PORT": str(port), "AICS_DISPATCH_PORT": str(dispatch_port)},
                port=port,
            )
        for i in range(cfg.workers):
            fleet.start(f"worker-{i + 1}", ["worker"])
        for name, child in fleet.children.items():
            if child.port and not wait_http(f"http://{LOOPBACK}:{child.port}/healthz"):
                raise RuntimeError(f"{name} did not come up:\n{fleet.tail(name)}")
        if not wait_http(f"http://{LOOPBACK}:{dispatch_port}/healthz", timeout=30):
            self.report.notes.append("dispatch service has no /healthz answer (not checked)")
        metrics = self._has_metrics(api_ports[0])
        if not metrics:
            self.report.notes.append("/metrics is not served by the API app (create_app)")
        if cfg.load:
            asyncio.run(self._load_phase(fleet, db_url, api_ports, key))
        fleet.stop("gateway")
        for i in range(cfg.workers):
            fleet.stop(f"worker-{i + 1}")
        if cfg.throughput and cfg.picture_jobs:
            asyncio.run(self._picture_throughput_phase(fleet, db_url))
        elif cfg.throughput:
            self._throughput_phase(fleet, db_url, workdir)

    def _aics(self, env: dict[str, str], *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", _LAUNCHER, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"aics {' '.join(args)} failed: {done.stderr[-2000:]}")
        return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""

    @staticmethod
    def _has_metrics(port: int) -> bool:
        with httpx.Client(timeout=5.0) as client:
            try:
                response = client.get(f"http://{LOOPBACK}:{port}/metrics")
            except httpx.HTTPError:
                return False
        return response.status_code == 200 and "aics_tasks" in response.text

    # -------------------------------------------------------------------------- load + faults
    async def _load_phase(self, fleet: Fleet, db_url: str, api_ports: list[int], key: str) -> None:
        from ai_cs.gateway.sim import (
            PRICE_IN_REPLY,
            Customer,
            Delivered,
            GatewaySimulator,
            demo_picture,
        )

        cfg = self.config
        arrived: dict[str, float] = {}
        loop = asyncio.get_running_loop()

        def on_delivered(item: Delivered) -> None:
            arrived[item.command_id] = loop.time()

        sim = GatewaySimulator(host=LOOPBACK, port=0, on_delivered=on_delivered)
        await sim.start()
        seen = Observed()
        steps: dict[str, list[float]] = {"picture": [], "note": [], "pay_ack": [], "confirm": []}
        first_reply: list[float] = []
        text_during_pictures: list[float] = []
        analysing = {"pictures": 0}
        pay_latency: list[float] = []
        api_latency: list[float] = []
        progress = {"paid": 0, "done": 0, "api_ok": 0, "api_failover": 0, "api_failed": 0}
        faults: list[str] = []
        links: list[str] = []
        stop_load = asyncio.Event()
        try:
            fleet.start("gateway", ["gateway", "--url", sim.url, "--account", "*"])
            if not await sim.wait_for(lambda: sim.live_connections > 0, timeout=60):
                raise RuntimeError(f"the gateway client never connected:\n{fleet.tail('gateway')}")

            def matches(text: str, mark: str | re.Pattern[str] | None) -> bool:
                if mark is None:
                    return True
                if isinstance(mark, str):
                    return mark in text
                return mark.search(text) is not None

            async def wait_new(
                person: Customer, before: int, mark: str | re.Pattern[str] | None = None
            ) -> float:
                def ready() -> bool:
                    return any(matches(d.text, mark) for d in sim.messages_to(person)[before:])

                if not await sim.wait_for(ready, timeout=cfg.step_timeout):
                    seen.replies_missing += 1
                    return -1.0
                got = sim.messages_to(person)[before:]
                hit = next(d for d in got if matches(d.text, mark))
                return arrived.get(hit.command_id, loop.time())

            async def text_turn(person: Customer, step: str, text: str, dup: int = 1) -> bool:
                n = len(sim.messages_to(person))
                during = analysing["pictures"] > 0
                t0 = loop.time()
                await sim.say(person, text, duplicates=dup)
                t1 = await wait_new(person, n)
                if t1 < 0:
                    return False
                steps[step].append(t1 - t0)
                if during:
                    text_during_pictures.append(t1 - t0)
                return True

            async def customer(i: int) -> None:
                await asyncio.sleep(cfg.ramp_seconds * i / max(1, cfg.customers))
                person = Customer(id=f"buyer-{i + 1:04d}", nick=f"顾客{i + 1}")
                order = f"order-{i + 1:04d}"
                note = f"要高清一点（{i + 1}号图）"
                seen.orders[person.id] = order
                seen.notes_sent[person.id] = note
                url = sim.add_picture(
                    f"p{i + 1}.png", demo_picture(f"SALE {i % 90 + 10}%", (640, 480))
                )
                dup = 2 if i % 5 == 0 else 1
                n = len(sim.messages_to(person))
                t0 = loop.time()
                analysing["pictures"] += 1
                try:
                    await sim.send_picture(
                        person, url, text="帮我抠图", width=640, height=480, duplicates=dup
                    )
                    t1 = await wait_new(person, n)
                    if t1 < 0:
                        return
                    first_reply.append(t1 - t0)
                    if cfg.picture_jobs:
                        # The first reply may be the "looking at it" note; the quote ends it.
                        t1 = await wait_new(person, n, PRICE_IN_REPLY)
                        if t1 < 0:
                            return
                finally:
                    analysing["pictures"] -= 1
                steps["picture"].append(t1 - t0)
                if not await text_turn(person, "note", f"对了，{note}", dup):
                    return
                amount = sim.quoted_fen(person) or self._price_of(db_url, person.id)
                n = len(sim.messages_to(person))
                t0 = loop.time()
                await sim.pay(person, order, amount, duplicates=2)
                progress["paid"] += 1
                if i % 3 == 0:
                    # The platform announces the same payment again under a new event id.
                    await sim.pay(person, order, amount)
                t1 = await wait_new(person, n, PAYMENT_ACK_MARK)
                if t1 >= 0:
                    steps["pay_ack"].append(t1 - t0)
                t2 = await wait_new(person, n, RESULT_MARK)
                if t2 < 0:
                    return
                pay_latency.append(t2 - t0)
                for d in sim.messages_to(person)[n:]:
                    links.extend(m.group(1) for m in LINK.finditer(d.text))
                await text_turn(person, "confirm", "确认，收到了，谢谢")
                progress["done"] += 1

            async def api_load(worker_index: int) -> None:
                async with httpx.AsyncClient(timeout=10.0) as client:
                    headers = {"Authorization": f"Bearer {key}"}
                    for j in range(100_000):  # bounded; normally ended by stop_load
                        if stop_load.is_set():
                            return
                        buyer = (j * 7 + worker_index) % cfg.customers + 1
                        path = (
                            "/healthz"
                            if j % 4 == 0
                            else f"/api/v1/tasks?customer_id=buyer-{buyer:04d}"
                        )
                        started = loop.time()
                        for attempt in range(len(api_ports)):
                            port = api_ports[(j + worker_index + attempt) % len(api_ports)]
                            try:
                                response = await client.get(
                                    f"http://{LOOPBACK}:{port}{path}", headers=headers
                                )
                            except httpx.HTTPError:
                                progress["api_failover"] += 1  # what a load balancer retries
                                continue
                            if response.status_code < 500:
                                progress["api_ok"] += 1
                                api_latency.append(loop.time() - started)
                                break
                            progress["api_failover"] += 1
                        else:
                            progress["api_failed"] += 1
                        await asyncio.sleep(0.05)

            async def chaos() -> None:
                k = cfg.customers
                steps: list[tuple[float, str]] = [
                    (0.25, "worker"),
                    (0.45, "api"),
                    (0.55, "gateway"),
                ]
                if cfg.pg_restart:
                    steps.append((0.7, "postgres"))
                for share, what in steps:
                    while progress["paid"] < share * k and not stop_load.is_set():
                        await asyncio.sleep(0.2)
                    if stop_load.is_set():
                        return
                    stamp = f"t={loop.time() - t_start:.1f}s paid={progress['paid']}"
                    if what == "worker":
                        await asyncio.to_thread(fleet.kill, "worker-1")
                        await asyncio.sleep(2.0)
                        await asyncio.to_thread(fleet.restart, "worker-1")
                        faults.append(f"SIGKILL worker-1 at {stamp}, restarted 2 s later")
                    elif what == "api":
                        name = f"api-{len(api_ports)}"
                        await asyncio.to_thread(fleet.kill, name)
                        await asyncio.sleep(2.0)
                        await asyncio.to_thread(fleet.restart, name)
                        faults.append(f"SIGKILL {name} at {stamp}, restarted 2 s later")
                    elif what == "gateway":
                        await sim.disconnect()
                        faults.append(f"gateway connection cut at {stamp}")
                    else:
                        took = await asyncio.to_thread(restart_postgres)
                        faults.append(f"PostgreSQL restarted at {stamp} ({took:.1f} s)")

            t_start = loop.time()
            gateway_cpu = fleet.cpu_seconds("gateway")
            loaders = [asyncio.create_task(api_load(w)) for w in range(4)]
            chaos_task = asyncio.create_task(chaos())
            people = asyncio.gather(*(customer(i) for i in range(cfg.customers)))
            try:
                await asyncio.wait_for(people, timeout=cfg.deadline)
            except TimeoutError:
                self.report.notes.append(f"customers not done by the {cfg.deadline:.0f} s deadline")
            customers_elapsed = loop.time() - t_start
            # The gateway process is never restarted (only its connection is cut): its CPU share.
            gateway_busy = (fleet.cpu_seconds("gateway") - gateway_cpu) / customers_elapsed
            stop_load.set()
            await asyncio.gather(*loaders, chaos_task, return_exceptions=True)
            await self._settle(sim, db_url)
            elapsed = loop.time() - t_start
            msg_latency = [v for values in steps.values() for v in values]
            text_latency = steps["note"] + steps["confirm"]
            seen.pushed_events = list(sim.record.pushed)
            seen.unacked_events = set(sim.unacked)
            seen.delivered = [(d.command_id, d.to, d.text) for d in sim.record.delivered.values()]
            seen.results_unreachable = await self._fetch_results(links, api_ports)
            if len(links) < progress["done"]:
                seen.results_unreachable += progress["done"] - len(links)
            self._collect(seen, db_url)
            picture_jobs = rows(
                db_url,
                "SELECT count(*), count(DISTINCT args->>'source') FROM procrastinate_jobs "
                "WHERE task_name = %s",
                (ANALYSE_PICTURE,),
            )[0]
            self.report.ledger = tally(seen)
            n = self.report.numbers
            completed = sum(1 for _, _, s in seen.tasks if s == "completed")
            n.update(
                customers=cfg.customers,
                customers_done=progress["done"],
                events_pushed=len(seen.pushed_events),
                frames_out=sim.record.frames_out,
                sends_raw=len(sim.record.sends),
                messages_delivered=len(seen.delivered),
                tasks_completed=completed,
                load_seconds=round(customers_elapsed, 1),
                scale_events_per_s=round(len(seen.pushed_events) / customers_elapsed, 2),
                scale_tasks_completed_per_s=round(completed / elapsed, 3),
                scale_api_requests_per_s=round(progress["api_ok"] / customers_elapsed, 1),
                api_failovers=progress["api_failover"],
                api_failed=progress["api_failed"],
                scale_message_reply_p50_ms=round(1000 * percentile(msg_latency, 0.5)),
                **{
                    f"reply_{step}_p99_ms": round(1000 * percentile(values, 0.99))
                    for step, values in steps.items()
                },
                scale_message_reply_p99_ms=round(1000 * percentile(msg_latency, 0.99)),
                scale_text_reply_p50_ms=round(1000 * percentile(text_latency, 0.5)),
                scale_text_reply_p99_ms=round(1000 * percentile(text_latency, 0.99)),
                text_turns_during_pictures=len(text_during_pictures),
                scale_text_reply_during_pictures_p50_ms=round(
                    1000 * percentile(text_during_pictures, 0.5)
                ),
                scale_text_reply_during_pictures_p99_ms=round(
                    1000 * percentile(text_during_pictures, 0.99)
                ),
                scale_picture_first_reply_p50_ms=round(1000 * percentile(first_reply, 0.5)),
                scale_picture_first_reply_p99_ms=round(1000 * percentile(first_reply, 0.99)),
                scale_payment_result_p50_ms=round(1000 * percentile(pay_latency, 0.5)),
                scale_payment_result_p99_ms=round(1000 * percentile(pay_latency, 0.99)),
                scale_api_p50_ms=round(1000 * percentile(api_latency, 0.5), 1),
                scale_api_p99_ms=round(1000 * percentile(api_latency, 0.99), 1),
                results_fetched=len(links) - seen.results_unreachable,
                gateway_cpu_share=round(gateway_busy, 2),
                picture_jobs=int(picture_jobs[0]),
                picture_jobs_sources=int(picture_jobs[1]),
            )
            self.report.notes.extend(faults)
        finally:
            stop_load.set()
            await sim.stop()

    def _price_of(self, db_url: str, customer_id: str) -> int | None:
        found = rows(
            db_url,
            "SELECT price_fen FROM image_tasks WHERE customer_id = %s AND status = 'pending' "
            "ORDER BY created_at DESC LIMIT 1",
            (customer_id,),
        )
        return int(found[0][0]) if found and found[0][0] is not None else None

    async def _settle(self, sim: Any, db_url: str, timeout: float = 90.0) -> None:
        """Wait (bounded) until the inbox is handled, the outbox sent and no task is mid-way."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            busy = await asyncio.to_thread(
                rows,
                db_url,
                "SELECT (SELECT count(*) FROM gateway_inbox WHERE status != 'processed')"
                " + (SELECT count(*) FROM gateway_outbox WHERE status != 'sent')"
                " + (SELECT count(*) FROM image_tasks WHERE status IN ('paid', 'processing'))",
            )
            if busy[0][0] == 0 and not sim.unacked:
                return
            await asyncio.sleep(1.0)

    async def _fetch_results(self, tokens: list[str], api_ports: list[int]) -> int:
        """Download every result link through the API processes; returns how many failed."""
        failed = 0
        async with httpx.AsyncClient(timeout=30.0) as client:
            for i, token in enumerate(tokens):
                port = api_ports[i % len(api_ports)]
                try:
                    response = await client.get(f"http://{LOOPBACK}:{port}/r/{token}")
                except httpx.HTTPError:
                    failed += 1
                    continue
                if response.status_code != 200 or not response.content:
                    failed += 1
        return failed

    @staticmethod
    def _collect(seen: Observed, db_url: str) -> None:
        seen.inbox = [
            (str(a), str(b)) for a, b in rows(db_url, "SELECT event_id, status FROM gateway_inbox")
        ]
        seen.tasks = [
            (str(a), str(b), str(c))
            for a, b, c in rows(db_url, "SELECT task_id, customer_id, status FROM image_tasks")
        ]
        seen.payments = [
            (str(a), b, str(c))
            for a, b, c in rows(db_url, "SELECT payment_id, task_id, outcome FROM payments")
        ]
        seen.jobs = [
            (str(a), str(b))
            for a, b in rows(
                db_url,
                # Processing jobs only; picture jobs (task_id null) are counted on their own.
                "SELECT args->>'task_id', status::text FROM procrastinate_jobs "
                "WHERE task_name <> %s",
                (ANALYSE_PICTURE,),
            )
        ]
        seen.notes = [
            (str(a), str(b), str(c))
            for a, b, c in rows(
                db_url, "SELECT task_id, change_type, new_value FROM task_requirement_changes"
            )
        ]
        seen.outbox = [
            (str(a), str(b))
            for a, b in rows(db_url, "SELECT command_id, status FROM gateway_outbox")
        ]

    # -------------------------------------------------------------------------- throughput
    def _throughput_phase(self, fleet: Fleet, db_url: str, workdir: Path) -> None:
        """Same batch size of paid ``enhance`` tasks on 1 MP pictures, 1 vs 2 workers.

        Each configuration runs ``throughput_rounds`` times, interleaved, and the best round
        counts: the machine is shared, and a round slowed by someone else's job says nothing
        about the workers.
        """
        time.sleep(5.0)  # let the load phase's last writes and autovacuum settle
        best: dict[str, float] = {}
        for round_no in range(self.config.throughput_rounds):
            for threads in ("default", "1"):
                for workers in (1, 2):
                    rate = self._one_batch(fleet, db_url, workdir, workers, threads, round_no)
                    name = f"throughput_{workers}w_{threads}_tasks_per_s"
                    best[name] = max(best.get(name, 0.0), rate)
                    self.echo(
                        f"  throughput round {round_no + 1}: {workers} worker(s), "
                        f"cv threads {threads}: {rate:.3f} tasks/s"
                    )
        self.report.numbers.update({k: round(v, 3) for k, v in best.items()})

    def _one_batch(
        self, fleet: Fleet, db_url: str, workdir: Path, workers: int, threads: str, round_no: int
    ) -> float:
        from ai_cs.config import Settings
        from ai_cs.workflow import Workflow

        batch = f"tp{round_no}{workers}{threads[0]}"
        env = {CV_THREADS_ENV: "1", "OMP_NUM_THREADS": "1"} if threads == "1" else {}
        names = [f"bw-{batch}-{i + 1}" for i in range(workers)]
        for name in names:
            fleet.start(name, ["worker"], env=env)
        data = workdir / "data"
        # Stored as intake stores pictures (by storage key): the worker reads nothing else.
        paths = [
            data / datafiles.put(data, "images", photo_like((1000, 1000), seed=i), "png")
            for i in range(self.config.throughput_tasks)
        ]
        # The batch appears at once, when every worker of this round is heart-beating (a worker
        # still importing OpenCV would make the 2-worker round look slower than it is).
        ready_by = time.monotonic() + 60
        while time.monotonic() < ready_by:
            live = rows(
                db_url,
                "SELECT count(*) FROM procrastinate_workers "
                "WHERE last_heartbeat > now() - interval '3 seconds'",
            )[0][0]
            if live >= workers:
                break
            time.sleep(0.3)
        time.sleep(1.0)
        settings = Settings(
            database_url=db_url, data_dir=data, queue_backend="procrastinate", _env_file=None
        )
        wf = Workflow(settings=settings)
        states: dict[str, int] = {}
        elapsed = 1.0
        try:
            ids: list[str] = []

            for i, path in enumerate(paths):
                task = wf.create_image_task(f"{batch}-c{i}", str(path), "enhance", price_fen=1000)
                ids.append(task["task_id"])
            started = time.monotonic()
            for i, task_id in enumerate(ids):
                wf.trigger_processing_on_payment(f"{batch}-c{i}", task_id, f"{batch}-pay-{i}", 1000)
            deadline = started + 60 + 30 * len(ids)
            while time.monotonic() < deadline:
                left = rows(
                    db_url,
                    "SELECT count(*) FROM image_tasks WHERE task_id = ANY(%s) "
                    "AND NOT (status = ANY(%s))",
                    (ids, list(TERMINAL_BATCH_STATUSES)),
                )[0][0]
                if left == 0:
                    break
                time.sleep(0.2)
            elapsed = time.monotonic() - started
            done = rows(
                db_url,
                "SELECT status, count(*) FROM image_tasks WHERE task_id = ANY(%s) GROUP BY 1",
                (ids,),
            )
            states = {str(s): int(c) for s, c in done}
            if states.get("awaiting_confirm", 0) != len(ids):
                self.report.notes.append(f"throughput batch {batch}: {states}")
        finally:
            wf.close()
            for name in names:
                fleet.stop(name)
        return states.get("awaiting_confirm", 0) / elapsed

    async def _picture_throughput_phase(self, fleet: Fleet, db_url: str) -> None:
        """Picture → quote throughput through the gateway client, 1 worker vs 2.

        One simulator and one gateway client (warmed by a text turn, so the intent model's
        first training is not timed) serve every batch; per batch ``picture_batch`` customers
        each send a different 640×480 poster at once, and the batch's rate is pictures quoted
        ÷ seconds from the first send to the last quote. The workers of a batch are started
        and heart-beating before it is sent (otherwise the turns analyse the pictures
        themselves); the best of ``throughput_rounds`` interleaved rounds counts.
        """
        from ai_cs.gateway.sim import PRICE_IN_REPLY, Customer, GatewaySimulator, demo_picture

        cfg = self.config
        # Event ids must not repeat the load phase's: the inbox would take them as duplicates.
        sim = GatewaySimulator(host=LOOPBACK, port=0, first_event_id=1_000_000)
        await sim.start()
        best: dict[str, float] = {}
        try:
            fleet.start("gateway-pictures", ["gateway", "--url", sim.url, "--account", "*"])
            if not await sim.wait_for(lambda: sim.live_connections > 0, timeout=60):
                raise RuntimeError(f"gateway never connected:\n{fleet.tail('gateway-pictures')}")
            warm = Customer(id="warm-up", nick="热身")
            await sim.say(warm, "你好，在吗")
            await sim.wait_for(lambda: bool(sim.messages_to(warm)), timeout=cfg.step_timeout)
            for round_no in range(cfg.throughput_rounds):
                for workers in (1, 2):
                    names = [f"pw-{round_no}-{workers}-{i + 1}" for i in range(workers)]
                    for name in names:
                        fleet.start(name, ["worker"])
                    try:
                        await asyncio.to_thread(self._wait_workers, db_url, workers)
                        batch = f"r{round_no}w{workers}"
                        people = [
                            Customer(id=f"pic-{batch}-{i:03d}", nick=f"图{i}")
                            for i in range(cfg.picture_batch)
                        ]
                        urls = [
                            sim.add_picture(
                                f"{batch}-{i}.png",
                                demo_picture(f"{batch.upper()} NO {i} 特价", (640, 480)),
                            )
                            for i in range(cfg.picture_batch)
                        ]
                        loop = asyncio.get_running_loop()
                        cpu_before = {n: fleet.cpu_seconds(n) for n in ["gateway-pictures", *names]}
                        started = loop.time()
                        await asyncio.gather(
                            *(
                                sim.send_picture(p, u, text="帮我抠图", width=640, height=480)
                                for p, u in zip(people, urls, strict=True)
                            )
                        )

                        def quoted(people: list[Customer] = people) -> int:
                            return sum(
                                1
                                for p in people
                                if any(PRICE_IN_REPLY.search(d.text) for d in sim.messages_to(p))
                            )

                        def all_quoted(people: list[Customer] = people) -> bool:
                            return quoted(people) == len(people)

                        await sim.wait_for(all_quoted, timeout=60 + 10 * len(people))
                        elapsed = loop.time() - started
                        done = quoted()
                        busy = {
                            n: (fleet.cpu_seconds(n) - before) / elapsed
                            for n, before in cpu_before.items()
                        }
                    finally:
                        for name in names:
                            fleet.stop(name)
                    if done < len(people):
                        self.report.notes.append(
                            f"picture batch {batch}: {done}/{len(people)} quoted"
                        )
                    rate = done / elapsed
                    key = f"pictures_{workers}w_per_s"
                    best[key] = max(best.get(key, 0.0), rate)
                    shares = ", ".join(f"{n} {v:.2f}" for n, v in busy.items())
                    self.echo(
                        f"  pictures round {round_no + 1}: {workers} worker(s): "
                        f"{done} quoted in {elapsed:.1f} s = {rate:.3f} pictures/s "
                        f"(CPU cores busy: {shares})"
                    )
                    if rate >= best.get(f"pictures_{workers}w_per_s", 0.0):
                        self.report.numbers[f"pictures_{workers}w_gateway_cpu_share"] = round(
                            busy["gateway-pictures"], 2
                        )
                        self.report.numbers[f"pictures_{workers}w_workers_cpu_share"] = round(
                            sum(v for n, v in busy.items() if n != "gateway-pictures"), 2
                        )
        finally:
            fleet.stop("gateway-pictures")
            await sim.stop()
        self.report.numbers.update({k: round(v, 3) for k, v in best.items()})

    @staticmethod
    def _wait_workers(db_url: str, workers: int) -> None:
        """Until ``workers`` workers beat in ``worker_presence`` and Procrastinate (≤ 60 s)."""
        from ai_cs.jobs.presence import STALE_SECONDS

        ready_by = time.monotonic() + 60
        while time.monotonic() < ready_by:
            live = rows(
                db_url,
                "SELECT (SELECT count(*) FROM procrastinate_workers "
                "WHERE last_heartbeat > now() - interval '3 seconds'), "
                "(SELECT count(*) FROM worker_presence "
                "WHERE seen_epoch >= extract(epoch FROM now()) - %s)",
                (STALE_SECONDS,),
            )[0]
            if min(int(live[0]), int(live[1])) >= workers:
                break
            time.sleep(0.3)
        time.sleep(1.0)


# ------------------------------------------------------------------------------------ entry points
def summary(report: ScaleReport) -> str:
    """The human summary printed after the JSON lines."""
    n = report.numbers
    led = report.ledger
    lines = [
        "",
        "scale-out suite: " + ("PASS (0 lost, 0 doubled)" if report.ok else "FAIL"),
        f"  customers {n.get('customers_done', 0):.0f}/{n.get('customers', 0):.0f} done, "
        f"events {n.get('events_pushed', 0):.0f}, "
        f"tasks completed {n.get('tasks_completed', 0):.0f}",
        f"  throughput {n.get('scale_events_per_s', 0)} events/s, "
        f"API {n.get('scale_api_requests_per_s', 0)} req/s "
        f"(failovers {n.get('api_failovers', 0):.0f}, failed {n.get('api_failed', 0):.0f})",
        f"  message→reply p50 {n.get('scale_message_reply_p50_ms', 0):.0f} ms, "
        f"p99 {n.get('scale_message_reply_p99_ms', 0):.0f} ms; "
        f"payment→result p50 {n.get('scale_payment_result_p50_ms', 0):.0f} ms, "
        f"p99 {n.get('scale_payment_result_p99_ms', 0):.0f} ms",
        "  lost:    " + ", ".join(f"{k} {v}" for k, v in led.lost.items()),
        "  doubled: " + ", ".join(f"{k} {v}" for k, v in led.doubled.items()),
    ]
    per_step = [f"{k[6:-7]} {v:.0f}" for k, v in n.items() if k.startswith("reply_")]
    if per_step:
        lines.append("  message→reply p99 per step (ms): " + ", ".join(per_step))
    for threads in ("default", "1"):
        one = n.get(f"throughput_1w_{threads}_tasks_per_s")
        two = n.get(f"throughput_2w_{threads}_tasks_per_s")
        if one and two:
            lines.append(
                f"  workers (cv threads {threads}): 1 → {one:.3f} tasks/s, 2 → {two:.3f} tasks/s, "
                f"ratio {two / one:.2f}"
            )
    if n.get("picture_jobs"):
        lines.append(
            f"  picture jobs {n['picture_jobs']:.0f} for "
            f"{n.get('picture_jobs_sources', 0):.0f} different pictures"
        )
    if "text_turns_during_pictures" in n:
        lines.append(
            f"  text turns p50 {n.get('scale_text_reply_p50_ms', 0):.0f} ms, "
            f"p99 {n.get('scale_text_reply_p99_ms', 0):.0f} ms; "
            f"sent while pictures were analysed ({n['text_turns_during_pictures']:.0f}): "
            f"p50 {n.get('scale_text_reply_during_pictures_p50_ms', 0):.0f} ms, "
            f"p99 {n.get('scale_text_reply_during_pictures_p99_ms', 0):.0f} ms; "
            f"picture first reply p99 {n.get('scale_picture_first_reply_p99_ms', 0):.0f} ms; "
            f"gateway process busy {n.get('gateway_cpu_share', 0):.2f} of a core"
        )
    one, two = n.get("pictures_1w_per_s"), n.get("pictures_2w_per_s")
    if one and two:
        lines.append(
            f"  picture → quote: 1 worker {one:.3f} pictures/s, 2 workers {two:.3f} pictures/s, "
            f"ratio {two / one:.2f}"
        )
    lines += [f"  note: {note}" for note in report.notes]
    lines += [f"  {detail}" for detail in led.details]
    return "\n".join(lines)


def run(quick: bool) -> list[BenchResult]:
    """The suite as a bench module (not in ``BENCH_MODULES``: it is long and owns PostgreSQL)."""
    return ScaleRun(ScaleConfig.preset(quick), echo=lambda _s: None).execute().results()


def main(argv: list[str] | None = None) -> int:
    """Command line of ``bench/scale.py``; exit code 1 when anything was lost or doubled."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="K=50 customers, small batches")
    parser.add_argument("--pg-restart", action="store_true", help="restart PostgreSQL mid-run")
    parser.add_argument("--customers", type=int, default=0, help="override K")
    parser.add_argument("--api", type=int, default=0, help="override N API processes")
    parser.add_argument("--workers", type=int, default=0, help="override M workers (≥ 1)")
    parser.add_argument("--batch", type=int, default=0, help="tasks per throughput batch")
    parser.add_argument("--no-throughput", action="store_true", help="skip the 1-vs-2 phase")
    parser.add_argument("--no-load", action="store_true", help="only the 1-vs-2 phase")
    parser.add_argument("--keep-logs", action="store_true", help="keep the work dir and logs")
    parser.add_argument(
        "--picture-jobs",
        action="store_true",
        help="AICS_PICTURE_JOBS=1 and one OpenCV/onnxruntime thread in every process; the "
        "second phase is then picture → quote throughput, 1 vs 2 workers",
    )
    parser.add_argument("--rounds", type=int, default=0, help="throughput rounds (best counts)")
    args = parser.parse_args(argv)
    config = ScaleConfig.preset(args.quick)
    config.pg_restart = args.pg_restart
    config.customers = max(1, min(1000, args.customers or config.customers))
    config.api_processes = max(1, min(8, args.api or config.api_processes))
    config.workers = max(1, min(8, args.workers or config.workers))
    config.throughput_tasks = max(1, min(100, args.batch or config.throughput_tasks))
    config.throughput = not args.no_throughput
    config.load = not args.no_load
    config.keep_logs = args.keep_logs
    config.picture_jobs = args.picture_jobs
    config.throughput_rounds = max(1, min(5, args.rounds or config.throughput_rounds))
    if args.batch:
        config.picture_batch = max(1, min(200, args.batch))
    started = datetime.now(UTC)
    report = ScaleRun(config, echo=lambda s: print(s, file=sys.stderr)).execute()  # noqa: T201
    for result in report.results():
        print(json.dumps(result.to_json(), ensure_ascii=False))  # noqa: T201 - the CLI's output
    print(summary(report))  # noqa: T201
    print(  # noqa: T201
        f"  started {started.isoformat(timespec='seconds')}, "
        f"took {(datetime.now(UTC) - started).total_seconds():.0f} s"
    )
    return 0 if report.ok else 1
