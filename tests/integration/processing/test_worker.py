"""The processing flow on the embedded queue: success, retries, hand-off, leases, crashes."""

from __future__ import annotations

import io
import json
import textwrap
import time
from pathlib import Path

from processing_helpers import FailingEngine, paid_task, worker_in_its_engine
from sqlalchemy import select

from ai_cs import datafiles
from ai_cs.clock import FixedClock
from ai_cs.config import Settings
from ai_cs.db.models import Job, OutboxMessage
from ai_cs.notify.models import NotifyEvent
from ai_cs.processing.worker import Worker
from ai_cs.workflow import Workflow


def _outbox(wf: Workflow) -> list[OutboxMessage]:
    with wf.db.read() as s:
        return list(s.execute(select(OutboxMessage)).scalars())


def test_a_paid_task_is_processed_into_a_real_result(
    database_url: str, settings: Settings, picture: Path
) -> None:
    wf = Workflow(database_url=database_url, settings=settings)
    tid = paid_task(wf, picture)
    outcomes = Worker(wf.db, wf.clock, settings).run_until_idle()
    assert [o.status for o in outcomes] == ["completed"]
    task = wf.get_task(tid)
    assert task["status"] == "awaiting_confirm"
    assert task["retry_count"] == 0 and task["error_message"] is None
    result = settings.data_dir / task["result_image"]
    assert result.suffix == ".png" and result.stat().st_size > 1000
    from PIL import Image

    with Image.open(result) as img:
        assert img.mode == "RGBA"
    wf.confirm_task(tid, "c1")
    assert wf.get_task(tid)["status"] == "completed"


def test_an_engine_that_always_fails_ends_with_exactly_one_dispatch_request(
    database_url: str, settings: Settings, picture: Path, clock: FixedClock
) -> None:
    wf = Workflow(database_url=database_url, settings=settings, clock=clock)
    tid = paid_task(wf, picture)
    broken = FailingEngine("engine exploded")
    worker = Worker(wf.db, clock, settings, engine_runner=broken)
    statuses = []
    for _ in range(6):
        outcome = worker.run_once()
        statuses.append(outcome and outcome.status)
        clock.advance(600)  # past any backoff
    assert statuses[:3] == ["retry", "retry", "handed_to_designer"]
    assert statuses[3:] == [None, None, None]
    assert len(broken.calls) == 3
    task = wf.get_task(tid)
    assert task["status"] == "with_designer"
    assert task["retry_count"] == 3
    assert "engine exploded" in task["error_message"]
    assert "engine exploded" in task["designer_reason"]
    rows = _outbox(wf)
    assert [(r.topic, r.key) for r in rows] == [("dispatch", f"dispatch:{tid}:1")]
    payload = json.loads(rows[0].payload)
    assert payload["task_id"] == tid and payload["operation"] == "remove_bg"
    # The shop is told once, as "processing failed" (not a second "handed to a designer").
    with wf.db.read() as session:
        notices = session.execute(select(NotifyEvent.kind, NotifyEvent.payload)).all()
    assert [kind for kind, _ in notices] == ["paid", "processing_failed"]
    assert json.loads(notices[1].payload)["task_id"] == tid


def test_a_transient_failure_is_retried_and_counted(
    database_url: str, settings: Settings, picture: Path, clock: FixedClock
) -> None:
    wf = Workflow(database_url=database_url, settings=settings, clock=clock)
    tid = paid_task(wf, picture, operation="enhance")
    flaky = FailingEngine("temporary glitch", failures=1)
    worker = Worker(wf.db, clock, settings, engine_runner=flaky)
    assert worker.run_once().status == "retry"
    assert worker.run_once() is None  # backing off
    clock.advance(60)
    assert worker.run_once().status == "completed"
    assert flaky.calls == ["enhance", "enhance"]
    task = wf.get_task(tid)
    assert task["status"] == "awaiting_confirm" and task["retry_count"] == 1
    assert task["error_message"] is None
    assert _outbox(wf) == []


def test_a_quality_check_failure_goes_to_a_human(
    database_url: str, settings: Settings, clock: FixedClock
) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(3)
    noise = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)).save(noise, "PNG")
    busy = settings.data_dir / datafiles.put(settings.data_dir, "images", noise.getvalue(), "png")
    wf = Workflow(database_url=database_url, settings=settings, clock=clock)
    tid = paid_task(wf, busy)
    worker = Worker(wf.db, clock, settings)
    for _ in range(3):
        worker.run_once()
        clock.advance(600)
    task = wf.get_task(tid)
    assert task["status"] == "with_designer"
    assert "quality" in task["error_message"]
    assert len(_outbox(wf)) == 1


def test_an_unreachable_original_is_handed_over_not_dropped(
    database_url: str, settings: Settings, clock: FixedClock
) -> None:
    wf = Workflow(database_url=database_url, settings=settings, clock=clock)
    task = wf.create_image_task("c1", "https://xxx.com/image.jpg", "enhance")
    wf.trigger_processing_on_payment("c1")
    worker = Worker(wf.db, clock, settings)
    for _ in range(3):
        worker.run_once()
        clock.advance(600)
    assert wf.get_task(task["task_id"])["status"] == "with_designer"


def test_a_refunded_task_is_not_processed(
    database_url: str, settings: Settings, picture: Path
) -> None:
    wf = Workflow(database_url=database_url, settings=settings)
    tid = paid_task(wf, picture)
    from ai_cs.core.tasks import TaskStatus
    from ai_cs.tasks.service import transition

    with wf.db.write() as s:
        transition(s, wf.clock, tid, TaskStatus.REFUNDED)
    outcome = Worker(wf.db, wf.clock, settings).run_once()
    assert outcome is not None and outcome.status == "skipped"
    assert wf.get_task(tid)["status"] == "refunded"
    with wf.db.read() as s:
        assert s.execute(select(Job.status)).scalar_one() == "done"


def test_a_worker_that_lost_its_lease_does_not_overwrite_the_new_owner(
    database_url: str, settings: Settings, picture: Path, clock: FixedClock
) -> None:
    wf = Workflow(database_url=database_url, settings=settings, clock=clock)
    tid = paid_task(wf, picture, operation="enhance")
    slow_results: list[str] = []

    def second_worker_runs_meanwhile(operation: str, data: bytes) -> tuple[bytes, str]:
        # While worker A is "stuck", its lease runs out and worker B finishes the job.
        clock.advance(120)
        b = Worker(
            wf.db,
            clock,
            settings,
            worker_id="B",
            lease_seconds=30,
            engine_runner=lambda op, d: (b"B-result-" + d[:10], ".png"),
        )
        slow_results.append(b.run_once().status)
        return b"A-result", ".png"

    a = Worker(
        wf.db,
        clock,
        settings,
        worker_id="A",
        lease_seconds=30,
        engine_runner=second_worker_runs_meanwhile,
    )
    outcome = a.run_once()
    assert slow_results == ["completed"]
    assert outcome.status == "lease_lost"
    task = wf.get_task(tid)
    assert task["status"] == "awaiting_confirm"
    assert (settings.data_dir / task["result_image"]).read_bytes().startswith(b"B-result-")
    assert task["retry_count"] == 1


CRASHY_WORKER = textwrap.dedent(
    """
    import sys, time
    from ai_cs.config import Settings
    from ai_cs.workflow import Workflow
    from ai_cs.processing.worker import Worker, default_engine_runner
    url, data_dir = sys.argv[1], sys.argv[2]
    settings = Settings(data_dir=data_dir, _env_file=None)
    wf = Workflow(database_url=url, settings=settings)
    real = default_engine_runner(settings)
    def slow(op, data):
        print("ENGINE STARTED", flush=True)
        time.sleep(60)
        return real(op, data)
    Worker(wf.db, wf.clock, settings, engine_runner=slow, lease_seconds=1.5).run_once()
    """
)


def test_a_worker_killed_mid_job_is_replaced_and_the_result_is_stored_once(
    database_url: str, settings: Settings, picture: Path, tmp_path: Path
) -> None:
    wf = Workflow(database_url=database_url, settings=settings)
    tid = paid_task(wf, picture)
    with worker_in_its_engine(CRASHY_WORKER, tmp_path, database_url, str(settings.data_dir)):
        with wf.db.read() as s:
            assert s.execute(select(Job.status)).scalar_one() == "running"
    # A new worker: nothing to do until the dead worker's lease has expired.
    worker = Worker(wf.db, wf.clock, settings, lease_seconds=10)
    deadline = time.monotonic() + 20
    outcome = worker.run_once()
    while outcome is None and time.monotonic() < deadline:
        time.sleep(0.2)
        outcome = worker.run_once()
    assert outcome is not None and outcome.status == "completed"
    task = wf.get_task(tid)
    assert task["status"] == "awaiting_confirm"
    assert task["retry_count"] == 1  # the killed attempt, then this one
    results = list((settings.data_dir / "results").rglob("*.png"))
    assert [p.relative_to(settings.data_dir).as_posix() for p in results] == [task["result_image"]]
    assert not list((settings.data_dir / "results").rglob(".tmp-*"))
    assert worker.run_once() is None


def test_the_stored_copy_is_used_when_the_marketplace_link_is_gone(
    database_url: str, settings: Settings, picture: Path
) -> None:
    wf = Workflow(database_url=database_url, settings=settings)
    task = wf.image_analysis_result(
        "c1",
        "https://xxx.com/expired.jpg",
        "simple",
        "4:3",
        "no",
        operation="remove_bg",
        stored_image=str(picture),
    )
    wf.trigger_processing_on_payment("c1", payment_id="P1")
    outcomes = Worker(wf.db, wf.clock, settings).run_until_idle()
    assert [o.status for o in outcomes] == ["completed"]
    assert wf.get_task(task["task_id"])["status"] == "awaiting_confirm"


def test_an_order_asking_for_svg_and_pdf_on_a4_gets_both_in_one_zip(
    database_url: str, settings: Settings, picture: Path
) -> None:
    """What the buyer said (A4, SVG 和 PDF) is stored as requirements and the worker applies it."""
    import zipfile

    import pypdfium2 as pdfium

    wf = Workflow(database_url=database_url, settings=settings)
    task = wf.create_image_task("c1", str(picture), "vectorize")
    tid = task["task_id"]
    wf.add_requirement_detail(tid, "c1", "size", "A4")
    wf.add_requirement_detail(tid, "c1", "format", "svg和pdf")
    assert wf.get_task(tid)["requirements"]["output"] == {
        "print": "A4",
        "format": "svg",
        "extra_formats": ["pdf"],
    }
    wf.trigger_processing_on_payment("c1", task_id=tid, payment_id=f"P-{tid}")
    outcomes = Worker(wf.db, wf.clock, settings).run_until_idle()
    assert [o.status for o in outcomes] == ["completed"], outcomes
    result = settings.data_dir / wf.get_task(tid)["result_image"]
    assert result.suffix == ".zip"
    with zipfile.ZipFile(result) as archive:
        assert sorted(archive.namelist()) == ["result.pdf", "result.svg"]
        pdf = archive.read("result.pdf")
    document = pdfium.PdfDocument(pdf)
    try:
        # A4 turned landscape like the 480×360 picture: 297×210 mm in points.
        width, height = document[0].get_size()
        assert (round(width), round(height)) == (842, 595)
    finally:
        document.close()
