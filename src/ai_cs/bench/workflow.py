"""Workflow rounds per second on SQLite against the bare ``sqlite3`` module.

A round is the seed's life of a task up to payment: create, add a note, change the operation,
pay. The baseline issues the same statements in the same four transactions through ``sqlite3``
directly, with the same durability settings (WAL, ``synchronous=NORMAL``, ``BEGIN IMMEDIATE``),
so the ratio shows what SQLAlchemy, validation, compare-and-set and the façade cost.
ratio = workflow rounds/s ÷ bare rounds/s (higher is better; 1.0 = no overhead).
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from datetime import datetime
from pathlib import Path

from ai_cs.bench import BenchResult
from ai_cs.clock import SystemClock, iso, note_stamp

CUSTOMER = "bench_customer"


def _workflow_rounds(path: Path, rounds: int) -> float:
    from ai_cs.config import Settings
    from ai_cs.workflow import Workflow

    wf = Workflow(database_url=f"sqlite:///{path}", settings=Settings(data_dir=path.parent))
    start = time.perf_counter()
    for i in range(rounds):
        task = wf.create_image_task(CUSTOMER, "https://xxx.com/image.jpg", "enhance")
        tid = task["task_id"]
        wf.add_customer_requirement_sync(tid, CUSTOMER, f"需要去掉背景 {i}")
        wf.modify_operation_sync(tid, CUSTOMER, "remove_bg")
        wf.trigger_processing_on_payment(CUSTOMER, task_id=tid, payment_id=f"PAY-{i}")
    elapsed = time.perf_counter() - start
    wf.close()
    return rounds / elapsed


def _bare_rounds(path: Path, rounds: int) -> float:
    from ai_cs.config import Settings
    from ai_cs.workflow import Workflow

    Workflow(database_url=f"sqlite:///{path}", settings=Settings(data_dir=path.parent)).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    clock = SystemClock()
    start = time.perf_counter()
    for i in range(rounds):
        now: datetime = clock.now()
        day = now.strftime("%Y%m%d")
        conn.execute("BEGIN IMMEDIATE")
        seq = conn.execute(
            "INSERT INTO task_id_sequences (day, last) VALUES (?, 1) ON CONFLICT (day) "
            "DO UPDATE SET last = task_id_sequences.last + 1 RETURNING last",
            (day,),
        ).fetchone()[0]
        tid = f"TASK_{day}_{seq:03d}"
        conn.execute(
            "INSERT INTO image_tasks (task_id, customer_id, original_image, operation, "
            "requirements, status, created_at, retry_count, updated_at) "
            "VALUES (?, ?, ?, 'enhance', '{}', 'pending', ?, 0, ?)",
            (tid, CUSTOMER, "https://xxx.com/image.jpg", iso(now), iso(now)),
        )
        conn.execute("COMMIT")

        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute(
            "SELECT status, customer_id, customer_notes FROM image_tasks WHERE task_id = ?", (tid,)
        ).fetchone()
        line = f"[{note_stamp(now)}] 需要去掉背景 {i}"
        notes = line if not row[2] else f"{row[2]}\n{line}"
        conn.execute(
            "UPDATE image_tasks SET customer_notes = ?, updated_at = ? "
            "WHERE task_id = ? AND status = 'pending'",
            (notes, iso(now), tid),
        )
        conn.execute(
            "INSERT INTO task_requirement_changes (task_id, change_type, old_value, new_value, "
            "changed_at, changed_by) VALUES (?, 'add_note', '无', ?, ?, 'customer')",
            (tid, line, iso(now)),
        )
        conn.execute("COMMIT")

        conn.execute("BEGIN IMMEDIATE")
        conn.execute("SELECT status, operation FROM image_tasks WHERE task_id = ?", (tid,))
        conn.execute(
            "UPDATE image_tasks SET operation = 'remove_bg', updated_at = ? "
            "WHERE task_id = ? AND status = 'pending'",
            (iso(now), tid),
        )
        conn.execute(
            "INSERT INTO task_requirement_changes (task_id, change_type, old_value, new_value, "
            "changed_at, changed_by) VALUES (?, 'modify_operation', 'enhance', 'remove_bg', ?, "
            "'customer')",
            (tid, iso(now)),
        )
        conn.execute("COMMIT")

        conn.execute("BEGIN IMMEDIATE")
        conn.execute("SELECT outcome FROM payments WHERE payment_id = ?", (f"PAY-{i}",))
        conn.execute("SELECT status FROM image_tasks WHERE task_id = ?", (tid,))
        conn.execute(
            "INSERT INTO payments (payment_id, task_id, customer_id, outcome, received_at) "
            "VALUES (?, ?, ?, 'applied', ?)",
            (f"PAY-{i}", tid, CUSTOMER, iso(now)),
        )
        conn.execute(
            "UPDATE image_tasks SET status = 'paid', paid_at = ? "
            "WHERE task_id = ? AND status = 'pending' RETURNING task_id",
            (iso(now), tid),
        ).fetchall()
        conn.execute(
            "UPDATE image_tasks SET status = 'processing', started_at = ? "
            "WHERE task_id = ? AND status = 'paid' RETURNING task_id",
            (iso(now), tid),
        ).fetchall()
        conn.execute(
            "INSERT INTO jobs (kind, task_id, payload, status, attempts, max_attempts, "
            "run_after, created_at) VALUES ('process_task', ?, '{}', 'queued', 0, 3, ?, ?)",
            (tid, time.time(), iso(now)),
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return rounds / elapsed


def run(quick: bool) -> list[BenchResult]:
    """Workflow rounds per second vs the bare-sqlite3 baseline (best of three runs each)."""
    rounds = 60 if quick else 300
    repeats = 1 if quick else 3
    ours, bare = 0.0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(repeats):
            ours = max(ours, _workflow_rounds(Path(tmp) / f"wf{r}.db", rounds))
            bare = max(bare, _bare_rounds(Path(tmp) / f"bare{r}.db", rounds))
    return [BenchResult.compare("workflow_rounds_sqlite", ours, "rounds/s", bare)]
