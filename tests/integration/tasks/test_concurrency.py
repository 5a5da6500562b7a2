"""Eight processes race on one database: payments, operation changes and notes, shuffled.

Afterwards every task is paid exactly once; the operation is the new one exactly when the change
call returned without error; every accepted note is stored and every refused one is not; history
rows match accepted changes one for one; nothing failed except with a domain error.
"""

from __future__ import annotations

import multiprocessing as mp
import random
from collections import Counter
from typing import Any

from sqlalchemy import func, select

from ai_cs.db.models import Job
from ai_cs.tasks.models import Payment
from ai_cs.workflow import Workflow

TASKS = 40
PROCESSES = 8


def _worker(url: str, ops: list[tuple[str, str, str]], out: Any) -> None:
    from ai_cs.errors import AicsError
    from ai_cs.workflow import Workflow

    wf = Workflow(database_url=url)
    results = []
    for kind, task_id, arg in ops:
        try:
            if kind == "pay":
                wf.trigger_processing_on_payment("cust", task_id=task_id, payment_id=arg)
            elif kind == "op":
                wf.modify_operation_sync(task_id, "cust", "vectorize")
            else:
                wf.add_customer_requirement_sync(task_id, "cust", arg)
            results.append((kind, task_id, arg, "ok"))
        except AicsError as exc:
            results.append((kind, task_id, arg, exc.code))
        except Exception as exc:  # noqa: BLE001 - the test reports any non-domain failure
            results.append((kind, task_id, arg, f"UNEXPECTED {type(exc).__name__}: {exc}"))
    wf.close()
    out.put(results)


def test_eight_processes_race_on_payments_operations_and_notes(database_url: str) -> None:
    wf = Workflow(database_url=database_url)
    task_ids = [
        wf.create_image_task("cust", "https://x/y.jpg", "enhance")["task_id"] for _ in range(TASKS)
    ]
    ops: list[tuple[str, str, str]] = []
    for tid in task_ids:
        ops += [("pay", tid, f"PAY-{tid}")] * 5
        ops.append(("op", tid, ""))
        ops += [("note", tid, f"note {i} for {tid}") for i in range(3)]
    random.Random(7).shuffle(ops)

    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    chunks = [ops[i::PROCESSES] for i in range(PROCESSES)]
    procs = [ctx.Process(target=_worker, args=(database_url, chunk, queue)) for chunk in chunks]
    for p in procs:
        p.start()
    results = [r for _ in procs for r in queue.get(timeout=240)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0

    unexpected = [r for r in results if r[3].startswith("UNEXPECTED")]
    assert unexpected == []
    assert len(results) == len(ops)

    allowed = {
        "pay": {"ok"},
        "op": {"ok", "operation_locked_after_payment"},
        "note": {"ok", "requirements_locked_after_payment"},
    }
    for kind, _tid, _arg, outcome in results:
        assert outcome in allowed[kind], (kind, outcome)

    with wf.db.read() as s:
        payments = Counter(s.execute(select(Payment.task_id)).scalars())
        applied = s.execute(
            select(func.count()).select_from(Payment).where(Payment.outcome == "applied")
        ).scalar_one()
        jobs = Counter(s.execute(select(Job.task_id)).scalars())
    assert applied == TASKS
    assert payments == dict.fromkeys(task_ids, 1)
    assert jobs == dict.fromkeys(task_ids, 1)

    for tid in task_ids:
        task = wf.get_task(tid)
        history = wf.get_task_requirement_history(tid)
        assert task["status"] == "processing"
        op_ok = any(r[0] == "op" and r[1] == tid and r[3] == "ok" for r in results)
        assert (task["operation"] == "vectorize") == op_ok
        accepted = {r[2] for r in results if r[0] == "note" and r[1] == tid and r[3] == "ok"}
        refused = {r[2] for r in results if r[0] == "note" and r[1] == tid and r[3] != "ok"}
        notes = task["customer_notes"] or ""
        assert all(n in notes for n in accepted)
        assert not any(n in notes for n in refused)
        assert Counter(h["change_type"] for h in history) == Counter(
            {"add_note": len(accepted), **({"modify_operation": 1} if op_ok else {})}
        )
        assert {h["new_value"] for h in history if h["change_type"] == "add_note"} == accepted
    wf.close()


def test_task_ids_are_unique_when_created_from_many_processes(database_url: str) -> None:
    Workflow(database_url=database_url).close()
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_create_many, args=(database_url, 25, queue)) for _ in range(6)]
    for p in procs:
        p.start()
    ids = [i for _ in procs for i in queue.get(timeout=240)]
    for p in procs:
        p.join(timeout=60)
    assert len(ids) == 150 and len(set(ids)) == 150
    day = ids[0][5:13]
    assert sorted(int(i.rsplit("_", 1)[1]) for i in ids) == list(range(1, 151))
    assert all(i.startswith(f"TASK_{day}_") for i in ids)


def _create_many(url: str, n: int, out: Any) -> None:
    from ai_cs.workflow import Workflow

    wf = Workflow(database_url=url)
    out.put([wf.create_image_task("c", "https://x/y.jpg", "enhance")["task_id"] for _ in range(n)])
    wf.close()
