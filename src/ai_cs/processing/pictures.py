"""Picture analysis as a job: a customer's picture is analysed by whichever worker is free.

The expensive part of answering a picture — taking it in (download, checks, the stored copy)
and analysing it (OCR, complexity, perspective) — does not depend on the conversation. With
``AICS_PICTURE_JOBS`` on, the turn that receives a picture enqueues an ``analyse_picture`` job
for it on the same queue as processing (embedded queue, or Procrastinate on PostgreSQL), so
every worker process, on this machine or another, takes pictures; the conversation process
only waits for the result and then applies the cheap, conversation-specific part (what the
customer asked for, their history → risk and quote) with
:func:`~ai_cs.imaging.report.report_from_analysis`.

The result is a JSON file in the data directory keyed by SHA-256 of the picture's source
(``analyses/<key>.json``), written atomically (temporary file, then rename), so:

- a job that runs twice (a worker killed mid-analysis, its lease taken back by the reaper)
  writes the same file again; nothing doubles;
- the customer-facing reply stays in the conversation's turn, whose replies are already sent
  exactly once (command ids derived from the event ids): one quote per picture;
- when no worker has announced itself (``worker_presence``) the turn analyses the picture
  itself at once, and when none answers in time (all busy or dead) after
  ``AICS_PICTURE_JOB_WAIT_SECONDS``, so a picture is never left unanswered.

A picture that intake refuses is recorded as refused; the turn then runs the ordinary path,
which refuses it again quickly (intake refuses before any analysis) with the usual message.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Final

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.orm import Session

from ai_cs.clock import SystemClock
from ai_cs.config import Settings
from ai_cs.core.tasks import Operation
from ai_cs.db.database import Database
from ai_cs.errors import AicsError
from ai_cs.imaging.analysis import Analysis, analyze_image
from ai_cs.imaging.intake import StoredImage, intake
from ai_cs.imaging.ocr import OcrEngine
from ai_cs.imaging.report import (
    CustomerHistory,
    PictureReport,
    analyze_source,
    report_from_analysis,
)
from ai_cs.jobs.presence import live_workers
from ai_cs.jobs.queue import ANALYSE_PICTURE, JobQueue, JobSpec
from ai_cs.tasks import orders

log = logging.getLogger(__name__)

POLL_SECONDS: Final = 0.05

_REQUESTED: dict[str, float] = {}
"""Pictures this process enqueued, with when (monotonic), so one picture is one job."""
_REQUESTED_LOCK = threading.Lock()
ANALYSES_DIR: Final = "analyses"


class PictureAnalysis(BaseModel):
    """What a picture job leaves behind: the stored picture and its analysis, or a refusal."""

    image: StoredImage | None = None
    analysis: Analysis | None = None
    refused: str | None = None
    """The refusal's error code when intake refused the picture."""


__all__ = [
    "ANALYSE_PICTURE",
    "PictureAnalysis",
    "analyse_customer_picture",
    "analyse_picture",
    "analyses_waiting",
    "load_result",
    "picture_report",
    "request_analyses",
    "result_path",
    "wait_for_result",
    "workers_alive",
]


def result_path(data_dir: Path, source: str) -> Path:
    """Where the job for ``source`` writes its result."""
    key = hashlib.sha256(source.encode()).hexdigest()
    return data_dir / ANALYSES_DIR / key[:2] / f"{key}.json"


def load_result(data_dir: Path, source: str) -> PictureAnalysis | None:
    """The stored result for ``source``, or ``None`` while there is none (or it is unreadable)."""
    path = result_path(data_dir, source)
    try:
        return PictureAnalysis.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except ValueError:
        log.warning("picture analysis %s is unreadable; analysing again", path)
        return None


def analyse_picture(source: str, settings: Settings, ocr: OcrEngine | None = None) -> Path:
    """Run one ``analyse_picture`` job: take the picture in, analyse it, store the result.

    Idempotent: a result already stored is kept (the picture and the code are the same).
    """
    path = result_path(settings.data_dir, source)
    if path.exists():
        return path
    try:
        stored = intake(source, settings)
        analysis = analyze_image(
            stored.analysis_image(), ocr=ocr, full_size=(stored.width, stored.height)
        )
        result = PictureAnalysis(image=stored, analysis=analysis)
    except AicsError as exc:
        result = PictureAnalysis(refused=exc.code)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(result.model_dump_json().encode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def request_analyses(db: Database, queue: JobQueue, settings: Settings, sources: list[str]) -> int:
    """Enqueue a job for each picture not analysed yet (one transaction); how many were queued.

    A picture this process asked for within ``picture_job_wait_seconds`` is not asked for again
    (the turn asks when the message arrives, the quoting tool when it needs the result).
    """
    now = time.monotonic()
    with _REQUESTED_LOCK:
        for source, at in list(_REQUESTED.items()):
            if now - at > settings.picture_job_wait_seconds:
                del _REQUESTED[source]
        todo = [
            s
            for s in dict.fromkeys(sources)
            if s not in _REQUESTED and not result_path(settings.data_dir, s).exists()
        ]
        for source in todo:
            _REQUESTED[source] = now
    if not todo:
        return 0

    def run(session: Session) -> None:
        for source in todo:
            queue.enqueue(
                session, JobSpec(kind=ANALYSE_PICTURE, task_id=None, payload={"source": source})
            )

    try:
        db.run_write(run)
    except BaseException:
        with _REQUESTED_LOCK:
            for source in todo:
                _REQUESTED.pop(source, None)
        raise
    return len(todo)


def workers_alive(db: Database) -> bool:
    """Whether any worker announced itself recently (``worker_presence``).

    Without one nobody would take a picture job: the turn analyses the picture itself at once
    rather than after ``picture_job_wait_seconds``.
    """
    return live_workers(db, SystemClock()) > 0


def analyses_waiting(db: Database, queue: JobQueue) -> int:
    """Picture jobs queued and not yet taken by a worker (0 when the queue cannot tell).

    A picture that finds others waiting before it will not be quoted within a second: the
    turn says so at once instead of waiting to find out.
    """
    if queue.name == "embedded":
        sql = "SELECT count(*) FROM jobs WHERE kind = :kind AND status = 'queued'"
    elif queue.name == "procrastinate":
        sql = "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :kind AND status = 'todo'"
    else:
        return 0
    with db.read() as session:
        return int(session.execute(text(sql), {"kind": ANALYSE_PICTURE}).scalar_one())


def wait_for_result(data_dir: Path, source: str, timeout: float) -> PictureAnalysis | None:
    """The result for ``source`` as soon as a worker stored it; ``None`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = load_result(data_dir, source)
        if found is not None or time.monotonic() >= deadline:
            return found
        time.sleep(POLL_SECONDS)


def picture_report(
    source: str,
    settings: Settings,
    *,
    db: Database,
    queue: JobQueue,
    operation: Operation | None = None,
    request_text: str = "",
    ocr: OcrEngine | None = None,
    history: CustomerHistory | None = None,
    wait: bool = True,
) -> PictureReport:
    """:func:`~ai_cs.imaging.report.analyze_source`, with the analysis done by a picture job.

    With ``AICS_PICTURE_JOBS`` off this is ``analyze_source`` itself. With it on, the job's
    result is used (the job is enqueued if the turn did not already); after
    ``AICS_PICTURE_JOB_WAIT_SECONDS`` without one the picture is analysed here. ``wait=False``:
    the caller already waited for the job (the gateway's turn does, on its event loop), so
    without a result the picture is analysed here at once.
    """
    if settings.picture_jobs and isinstance(source, str):
        found = load_result(settings.data_dir, source)
        if found is None and wait and workers_alive(db):
            request_analyses(db, queue, settings, [source])
            found = wait_for_result(settings.data_dir, source, settings.picture_job_wait_seconds)
        if found is None:
            log.warning("no worker analysed %s; analysing it in this process", source)
        elif found.image is not None and found.analysis is not None:
            return report_from_analysis(
                found.image,
                found.analysis,
                settings,
                operation=operation,
                request_text=request_text,
                history=history,
            )
    return analyze_source(
        source,
        settings,
        operation=operation,
        request_text=request_text,
        ocr=ocr,
        history=history,
    )


def analyse_customer_picture(
    db: Database,
    queue: JobQueue,
    settings: Settings,
    source: str,
    *,
    customer_id: str,
    operation: Operation | None = None,
    request_text: str = "",
    ocr: OcrEngine | None = None,
    wait: bool = True,
) -> PictureReport:
    """The report the quoting tool acts on, its analysis done by a picture job if enabled.

    The customer's history is read in its own read transaction, then :func:`picture_report`
    (with ``AICS_PICTURE_JOBS`` off, what :func:`ai_cs.tasks.orders.analyse_picture` does).
    ``wait`` as in :func:`picture_report`.
    """
    with db.read() as session:
        history = orders.picture_history(session, customer_id)
    return picture_report(
        source,
        settings,
        db=db,
        queue=queue,
        operation=operation,
        request_text=request_text,
        ocr=ocr,
        history=history,
        wait=wait,
    )
