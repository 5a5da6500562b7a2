"""Job-queue throughput: jobs per second through enqueue → claim → complete.

- ``queue_embedded_sqlite``: the embedded queue on a SQLite file; baseline the same three
  statements per job issued through the bare ``sqlite3`` module with the same settings.
  ratio = ours ÷ bare (higher is better).
- ``queue_procrastinate_pg`` (only when ``AICS_TEST_POSTGRES_URL`` is set): a Procrastinate worker
  running no-op jobs deferred through our transactional enqueue; baseline the embedded queue on
  the same PostgreSQL database. ratio = Procrastinate ÷ embedded.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

from ai_cs.bench import BenchResult
from ai_cs.clock import SystemClock
from ai_cs.db.database import Database
from ai_cs.db.migrate import upgrade
from ai_cs.jobs.embedded import EmbeddedQueue
from ai_cs.jobs.queue import JobSpec


def _embedded(db: Database, n: int) -> float:
    queue = EmbeddedQueue(SystemClock())
    with db.write() as s:
        for i in range(n):
            queue.enqueue(s, JobSpec(kind="noop", task_id=f"B{uuid.uuid4().hex}{i}"))
    start = time.perf_counter()
    done = 0
    while True:
        with db.write() as s:
            job = queue.claim(s, "bench", 60)
        if job is None:
            break
        with db.write() as s:
            queue.complete(s, job.id, "bench")
        done += 1
    return done / (time.perf_counter() - start)


def _bare_sqlite(path: Path, n: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("BEGIN IMMEDIATE")
    for i in range(n):
        conn.execute(
            "INSERT INTO jobs (kind, task_id, payload, status, attempts, max_attempts, run_after, "
            "created_at) VALUES ('noop', ?, '{}', 'queued', 0, 3, ?, 'now')",
            (f"R{i}", time.time()),
        )
    conn.execute("COMMIT")
    start = time.perf_counter()
    done = 0
    while True:
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute(
            "SELECT id FROM jobs WHERE status = 'queued' AND run_after <= ? "
            "ORDER BY run_after, id LIMIT 1",
            (time.time(),),
        ).fetchone()
        if row is None:
            conn.execute("COMMIT")
            break
        conn.execute(
            "UPDATE jobs SET status = 'running', lease_until = ?, locked_by = 'bench', "
            "attempts = attempts + 1 WHERE id = ? AND status = 'queued' RETURNING id",
            (time.time() + 60, row[0]),
        ).fetchall()
        conn.execute("COMMIT")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE jobs SET status = 'done', lease_until = NULL WHERE id = ? AND "
            "status = 'running' AND locked_by = 'bench' RETURNING id",
            (row[0],),
        ).fetchall()
        conn.execute("COMMIT")
        done += 1
    conn.close()
    return done / (time.perf_counter() - start)


async def _procrastinate(url: str, n: int) -> float:
    import procrastinate

    from ai_cs.jobs.procrastinate_queue import ProcrastinateQueue, libpq_url

    db = Database(url)
    upgrade(db)
    queue = ProcrastinateQueue()
    with db.write() as s:
        for i in range(n):
            queue.enqueue(s, JobSpec(kind="bench_noop", task_id=f"P{uuid.uuid4().hex}{i}"))
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=libpq_url(url)))

    @app.task(name="bench_noop", queue="processing")
    async def bench_noop(task_id: str) -> None:
        del task_id

    async with app.open_async():
        start = time.perf_counter()
        await app.run_worker_async(
            queues=["processing"], wait=False, install_signal_handlers=False, concurrency=1
        )
        elapsed = time.perf_counter() - start
    db.dispose()
    return n / elapsed


def _pg_schema(base: str) -> tuple[str, str]:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def _drop_schema(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def run(quick: bool) -> list[BenchResult]:
    """Queue throughput on SQLite (and Procrastinate vs embedded on PostgreSQL when available)."""
    n = 200 if quick else 1000
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'q.db'}")
        upgrade(db)
        ours = _embedded(db, n)
        db.dispose()
        bare_db = Database(f"sqlite:///{Path(tmp) / 'bare.db'}")
        upgrade(bare_db)
        bare_db.dispose()
        bare = _bare_sqlite(Path(tmp) / "bare.db", n)
    results.append(
        BenchResult.compare(
            "queue_embedded_sqlite",
            ours,
            "jobs/s",
            bare,
            note="baseline: same statements via bare sqlite3",
        )
    )
    base = os.environ.get("AICS_TEST_POSTGRES_URL")
    if base:
        url, schema = _pg_schema(base)
        try:
            pg_db = Database(url)
            upgrade(pg_db)
            embedded_pg = _embedded(pg_db, n)
            pg_db.dispose()
            procr = asyncio.run(_procrastinate(url, n))
        finally:
            _drop_schema(base, schema)
        results.append(
            BenchResult.compare(
                "queue_procrastinate_pg",
                procr,
                "jobs/s",
                embedded_pg,
                note="baseline: embedded queue on the same PostgreSQL",
            )
        )
    return results
