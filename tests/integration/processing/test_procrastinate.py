"""The same processing semantics on PostgreSQL with Procrastinate."""

from __future__ import annotations

import asyncio
import textwrap
import time
from pathlib import Path

import pytest
from processing_helpers import paid_task, worker_in_its_engine
from sqlalchemy import select, text

from ai_cs.config import Settings
from ai_cs.db.models import OutboxMessage
from ai_cs.errors import ProcessingFailed
from ai_cs.jobs.procrastinate_queue import ProcrastinateQueue, build_app, run_worker
from ai_cs.processing.worker import ProcessingFlow
from ai_cs.workflow import Workflow

pytestmark = pytest.mark.postgres


def _wf(pg_url: str, settings: Settings) -> Workflow:
    return Workflow(database_url=pg_url, settings=settings, queue=ProcrastinateQueue())


@pytest.fixture
def wf(pg_url: str, settings: Settings) -> Workflow:
    """The workflow on the test PostgreSQL with Procrastinate as its queue."""
    return _wf(pg_url, settings)


def _jobs(wf: Workflow) -> list[tuple[str, str]]:
    with wf.db.read() as s:
        return [
            tuple(r)
            for r in s.execute(
                text("SELECT status::text, args->>'task_id' FROM procrastinate_jobs ORDER BY id")
            )
        ]


async def _run_until(wf: Workflow, settings: Settings, predicate, *, runner=None, timeout=60.0):
    flow = ProcessingFlow(wf.db, wf.clock, settings, engine_runner=runner)
    app = build_app(wf.db.url, flow, max_attempts=3)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(app, stop, heartbeat_interval=0.5, stalled_after=3))
    deadline = time.monotonic() + timeout
    try:
        while not predicate() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
    finally:
        stop.set()
        await asyncio.wait_for(worker, 20)
    assert predicate(), "condition not reached in time"


def test_the_job_is_deferred_in_the_same_transaction(wf: Workflow) -> None:
    task = wf.create_image_task("c1", "https://xxx.com/a.jpg", "enhance")
    wf.trigger_processing_on_payment("c1", payment_id="P1")
    assert _jobs(wf) == [("todo", task["task_id"])]
    # A transaction that fails after deferring leaves no job behind.
    other = wf.create_image_task("c2", "https://xxx.com/b.jpg", "enhance")
    with pytest.raises(RuntimeError), wf.db.write() as s:
        ProcrastinateQueue().enqueue(
            s,
            __import__("ai_cs.jobs.queue", fromlist=["JobSpec"]).JobSpec(
                kind="process_task", task_id=other["task_id"]
            ),
        )
        raise RuntimeError("roll back")
    assert _jobs(wf) == [("todo", task["task_id"])]
    # One waiting job per task: a second defer for the same task is refused by the database.
    from sqlalchemy.exc import IntegrityError

    from ai_cs.jobs.queue import JobSpec

    with pytest.raises(IntegrityError), wf.db.write() as s:
        ProcrastinateQueue().enqueue(s, JobSpec(kind="process_task", task_id=task["task_id"]))


@pytest.mark.anyio
async def test_a_paid_task_is_processed_by_procrastinate(
    wf: Workflow, settings: Settings, picture: Path
) -> None:
    tid = paid_task(wf, picture)
    await _run_until(wf, settings, lambda: wf.get_task(tid)["status"] == "awaiting_confirm")
    task = wf.get_task(tid)
    assert (settings.data_dir / task["result_image"]).is_file()
    assert task["retry_count"] == 0
    assert _jobs(wf) == [("succeeded", tid)]


@pytest.mark.anyio
async def test_an_always_failing_engine_ends_with_one_dispatch_request(
    wf: Workflow, settings: Settings, picture: Path
) -> None:
    tid = paid_task(wf, picture)
    calls: list[int] = []

    def broken(op: str, data: bytes) -> tuple[bytes, str]:
        calls.append(1)
        raise ProcessingFailed("engine exploded")

    await _run_until(
        wf, settings, lambda: wf.get_task(tid)["status"] == "with_designer", runner=broken
    )
    task = wf.get_task(tid)
    assert len(calls) == 3 and task["retry_count"] == 3
    with wf.db.read() as s:
        keys = list(s.execute(select(OutboxMessage.key)).scalars())
    assert keys == [f"dispatch:{tid}:1"]


CRASHY = textwrap.dedent(
    """
    import asyncio, sys, time
    from ai_cs.config import Settings
    from ai_cs.workflow import Workflow
    from ai_cs.jobs.procrastinate_queue import ProcrastinateQueue, build_app, run_worker
    from ai_cs.processing.worker import ProcessingFlow
    url, data_dir = sys.argv[1], sys.argv[2]
    settings = Settings(data_dir=data_dir, _env_file=None)
    wf = Workflow(database_url=url, settings=settings, queue=ProcrastinateQueue())
    def slow(op, data):
        print("ENGINE STARTED", flush=True)
        time.sleep(120)
        raise SystemExit(1)
    flow = ProcessingFlow(wf.db, wf.clock, settings, engine_runner=slow)
    app = build_app(url, flow, max_attempts=3)
    asyncio.run(run_worker(app, asyncio.Event(), heartbeat_interval=0.5, stalled_after=3))
    """
)


@pytest.mark.anyio
async def test_a_killed_procrastinate_worker_is_replaced(
    wf: Workflow, pg_url: str, settings: Settings, picture: Path, tmp_path: Path
) -> None:
    tid = paid_task(wf, picture)
    with worker_in_its_engine(CRASHY, tmp_path, pg_url, str(settings.data_dir)):
        assert _jobs(wf) == [("doing", tid)]
    await _run_until(
        wf, settings, lambda: wf.get_task(tid)["status"] == "awaiting_confirm", timeout=60
    )
    results = list((settings.data_dir / "results").rglob("*.png"))
    assert len(results) == 1


def test_a_processing_task_whose_job_died_gets_a_new_job(wf: Workflow) -> None:
    from ai_cs.jobs.procrastinate_queue import requeue_stuck_tasks

    tid = paid_task(wf, "https://xxx.com/a.jpg", "enhance")
    assert requeue_stuck_tasks(wf.db, wf.clock, older_than=0) == 0  # its job is waiting
    with wf.db.write() as s:
        # What a database restart mid-attempt left behind: the job failed, the task unsettled.
        s.execute(text("UPDATE procrastinate_jobs SET status = 'failed'"))
    assert requeue_stuck_tasks(wf.db, wf.clock, older_than=3600) == 0  # too recent to judge
    assert requeue_stuck_tasks(wf.db, wf.clock, older_than=0) == 1
    assert _jobs(wf) == [("failed", tid), ("todo", tid)]
    assert requeue_stuck_tasks(wf.db, wf.clock, older_than=0) == 0


@pytest.mark.anyio
async def test_a_picture_job_is_analysed_by_a_procrastinate_worker(
    pg_url: str, settings: Settings, picture: Path
) -> None:
    from ai_cs.imaging.ocr import StaticOcr
    from ai_cs.processing.pictures import load_result, picture_report, request_analyses

    settings = settings.model_copy(update={"picture_jobs": True})
    wf = _wf(pg_url, settings)
    source = str(picture)
    assert request_analyses(wf.db, wf.queue, settings, [source, source]) == 1
    with wf.db.read() as s:
        tasks = list(s.execute(text("SELECT task_name FROM procrastinate_jobs")).scalars())
    assert tasks == ["analyse_picture"]
    flow = ProcessingFlow(wf.db, wf.clock, settings, ocr=StaticOcr())
    app = build_app(wf.db.url, flow, max_attempts=3)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(app, stop, heartbeat_interval=0.5, stalled_after=3))
    try:
        deadline = time.monotonic() + 60
        while load_result(settings.data_dir, source) is None and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
    finally:
        stop.set()
        await asyncio.wait_for(worker, 20)
    found = load_result(settings.data_dir, source)
    assert found is not None and found.analysis is not None and found.refused is None
    # The turn's quote uses the worker's analysis (its own OCR would read "不应被调用").
    report = picture_report(
        source, settings, db=wf.db, queue=wf.queue, operation=None, ocr=StaticOcr(["不应被调用"])
    )
    assert report.analysis == found.analysis and report.quote.total_fen > 0
    with wf.db.read() as s:
        states = list(s.execute(text("SELECT status::text FROM procrastinate_jobs")).scalars())
    assert states == ["succeeded"]
