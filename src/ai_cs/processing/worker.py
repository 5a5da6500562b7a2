"""The processing worker: takes paid tasks from the queue and runs their engine.

One attempt of a ``process_task`` job:

1. the task must still be ``processing`` (a refunded task's job just ends);
2. the original picture is loaded through the same safe intake as customer pictures;
3. the engine runs while a heartbeat thread keeps the job's lease alive;
4. success: the result is stored (content-addressed, so a re-run stores nothing new) and, in one
   transaction, the task moves ``processing → awaiting_confirm`` with ``result_image`` and
   ``retry_count`` while the job is marked done — only if this worker still holds the lease;
5. failure (engine error, unreadable picture, failed quality check): the attempt is recorded
   (``retry_count``, ``error_message``); with attempts left the job is retried with backoff, and
   when they are spent the task goes ``processing → failed → with_designer`` with its dispatch
   request in the outbox, in the same transaction (作图失败自动转人工).

A worker that dies mid-job leaves its lease to expire; the reaper (run by every worker) puts the
job back in the queue, or, when its attempts are spent, hands the task to a designer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from typing import Any, TypedDict, Unpack

from sqlalchemy import select
from sqlalchemy.orm import Session

from ai_cs import datafiles
from ai_cs.clock import Clock
from ai_cs.config import Settings
from ai_cs.core.requirements import Requirements
from ai_cs.core.tasks import TaskStatus
from ai_cs.db.database import Database
from ai_cs.errors import AicsError, ImageRejected
from ai_cs.imaging.ocr import OcrEngine
from ai_cs.jobs.embedded import ClaimedJob, EmbeddedQueue
from ai_cs.jobs.queue import ANALYSE_PICTURE, PROCESS_TASK
from ai_cs.notify import NotifyKind
from ai_cs.processing.pictures import analyse_picture
from ai_cs.processing.storage import LocalStorage, ResultStorage
from ai_cs.tasks import service
from ai_cs.tasks.handoff import hand_to_designer
from ai_cs.tasks.models import ImageTask

log = logging.getLogger(__name__)

REAP_INTERVAL_SECONDS = 1.0
"""How often a worker looks for jobs whose worker died (expired leases)."""

EngineRunner = Callable[[str, bytes], tuple[bytes, str]]
"""``(operation, picture bytes) → (result bytes, extension)``; raises ProcessingFailed."""


@dataclass(frozen=True)
class AttemptOutcome:
    """What one attempt did (for logs and tests)."""

    task_id: str | None
    status: str  # "completed", "retry", "handed_to_designer", "skipped", "lease_lost"
    error: str | None = None


def default_engine_runner(
    settings: Settings, requirements: Requirements | None = None
) -> EngineRunner:
    """Run the real engine for the operation (``ai_cs.engines``) with the order's requirements."""

    def run(operation: str, picture: bytes) -> tuple[bytes, str]:
        from ai_cs.engines import EngineOptions, run_engine

        options = EngineOptions(requirements=requirements or Requirements())
        result = run_engine(operation, picture, options, settings_like=settings)
        return result.data, result.extension

    return run


def task_requirements(task: dict[str, Any]) -> Requirements:
    """What the order asks the result to be (``requirements.output``), empty when nothing."""
    raw = task.get("requirements")
    try:
        decoded = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        decoded = None
    return Requirements.from_task(decoded if isinstance(decoded, dict) else None)


def load_original(original_image: str | None, settings: Settings) -> bytes:
    """The original picture's bytes: a stored file by its key, or a URL through safe intake."""
    from ai_cs.imaging.intake import is_url, load_source, read_local

    if not original_image:
        raise ImageRejected("the task has no original picture")
    stored = datafiles.stored_file(settings.data_dir, original_image)
    if stored is not None:
        return bytes(read_local(stored))
    if is_url(original_image):
        data, _ = load_source(original_image, settings)
        return bytes(data)
    raise ImageRejected(
        f"original picture {original_image!r} is not a file stored in the data directory"
    )


class FlowOptions(TypedDict, total=False):
    """The replaceable parts of a :class:`ProcessingFlow` (tests and benchmarks set them)."""

    engine_runner: EngineRunner | None
    storage: ResultStorage | None
    ocr: OcrEngine | None


@dataclass(eq=False)
class ProcessingFlow:
    """The steps of one attempt, independent of the queue that delivered the job.

    The embedded worker and the Procrastinate task both call these; the queue's own bookkeeping
    (complete, retry, dead) is passed in as ``settle`` so it commits with the task's change.
    """

    db: Database
    clock: Clock
    settings: Settings
    _: KW_ONLY
    engine_runner: EngineRunner | None = None  # None: the real engines, with the order's needs
    storage: ResultStorage | None = None  # None: LocalStorage in the data directory
    ocr: OcrEngine | None = None  # picture jobs: None = the process's RapidOCR engine

    def task_row(self, task_id: str) -> dict[str, Any] | None:
        """Status, operation and original picture of a task."""
        with self.db.read() as session:
            row = session.execute(
                select(
                    ImageTask.status,
                    ImageTask.operation,
                    ImageTask.original_image,
                    ImageTask.requirements,
                ).where(ImageTask.task_id == task_id)
            ).one_or_none()
        return None if row is None else dict(row._mapping)

    def picture_source(self, task: dict[str, Any]) -> str | None:
        """Where to read the picture: intake's stored copy first, else ``original_image``.

        The marketplace's link may have expired by the time the job runs; the copy intake
        stored when the task was analysed (``requirements.stored_image``) has not.
        """
        for reference in datafiles.original_references(task):
            if reference and datafiles.stored_file(self.settings.data_dir, reference):
                return reference
        original = task.get("original_image")
        return str(original) if original is not None else None

    def produce(self, task: dict[str, Any]) -> str:
        """Load the original, run the engine, store the result; returns the storage key."""
        picture = load_original(self.picture_source(task), self.settings)
        runner = self.engine_runner or default_engine_runner(self.settings, task_requirements(task))
        data, extension = runner(str(task["operation"]), picture)
        storage = self.storage or LocalStorage(self.settings.data_dir)
        return storage.put(data, extension)

    def analyse_picture(self, source: str) -> None:
        """One ``analyse_picture`` job: the picture's analysis stored for the turn waiting on it."""
        analyse_picture(source, self.settings, self.ocr)

    def succeed(self, session: Session, task_id: str, key: str, attempt: int) -> None:
        """``processing → awaiting_confirm`` with the result (in the caller's transaction)."""
        service.transition(
            session,
            self.clock,
            task_id,
            TaskStatus.AWAITING_CONFIRM,
            expected=[TaskStatus.PROCESSING],
            result_image=key,
            error_message=None,
            retry_count=attempt - 1,
        )

    def record_retry(self, session: Session, task_id: str, attempt: int, error: str) -> None:
        """A failed attempt with attempts left: counted, and the error kept for staff."""
        service.set_fields(
            session, self.clock, task_id, retry_count=attempt, error_message=error[:2000]
        )

    def give_up(self, session: Session, task_id: str, attempts: int, error: str) -> bool:
        """Attempts spent: ``processing → failed → with_designer`` plus the dispatch request.

        Returns False (and changes nothing) when the task already left ``processing``.
        """
        status = session.execute(
            select(ImageTask.status).where(ImageTask.task_id == task_id)
        ).scalar_one_or_none()
        if status != TaskStatus.PROCESSING.value:
            return False
        service.transition(
            session,
            self.clock,
            task_id,
            TaskStatus.FAILED,
            expected=[TaskStatus.PROCESSING],
            error_message=error[:2000],
            retry_count=attempts,
        )
        hand_to_designer(
            session,
            self.clock,
            task_id,
            f"自动处理失败（{attempts} 次尝试）：{error}",
            expected=frozenset({TaskStatus.FAILED}),
            notify=NotifyKind.PROCESSING_FAILED,
        )
        return True


class Worker:
    """Runs ``process_task`` jobs from the embedded queue."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        *,
        queue: EmbeddedQueue | None = None,
        worker_id: str | None = None,
        lease_seconds: float | None = None,
        **flow: Unpack[FlowOptions],
    ) -> None:
        self.db = db
        self.clock = clock
        self.queue = queue or EmbeddedQueue(clock, max_attempts=settings.job_max_attempts)
        self.flow = ProcessingFlow(db, clock, settings, **flow)
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease_seconds = lease_seconds or settings.job_lease_seconds
        self._reaped_at = -REAP_INTERVAL_SECONDS  # the first step always reaps

    # ------------------------------------------------------------------ one step
    def reap(self) -> int:
        """Take back expired leases; tasks whose attempts are spent go to a designer."""

        def run(session: Session) -> int:
            spent = self.queue.reap(session)
            for job in spent:
                if job.task_id:
                    self.flow.give_up(
                        session,
                        job.task_id,
                        job.attempts,
                        "the worker stopped during the last attempt",
                    )
            return len(spent)

        return self.db.run_write(run)

    def run_once(self) -> AttemptOutcome | None:
        """Claim and run one due job; ``None`` when the queue has nothing due."""
        # Expired leases are looked for at most once a second: each look is a write
        # transaction, and a busy worker (a burst of picture jobs) would otherwise add one per
        # job to every other writer's wait on SQLite.
        now = time.monotonic()
        if now - self._reaped_at >= REAP_INTERVAL_SECONDS:
            self._reaped_at = now
            self.reap()
        job = self.db.run_write(lambda s: self.queue.claim(s, self.worker_id, self.lease_seconds))
        if job is None:
            return None
        if job.kind == ANALYSE_PICTURE:
            return self._run_picture(job)
        if job.kind != PROCESS_TASK or job.task_id is None:
            self.db.run_write(
                lambda s: self.queue.fail(
                    s, job.id, self.worker_id, f"unknown job kind {job.kind!r}", retry=False
                )
            )
            return AttemptOutcome(job.task_id, "skipped", f"unknown job kind {job.kind!r}")
        return self._run_job(job)

    def run_until_idle(self, max_jobs: int = 1000) -> list[AttemptOutcome]:
        """Run due jobs until none is left (tests, the demo, ``aics worker --once``)."""
        outcomes: list[AttemptOutcome] = []
        for _ in range(max_jobs):
            outcome = self.run_once()
            if outcome is None:
                break
            outcomes.append(outcome)
        return outcomes

    # ------------------------------------------------------------------ the attempt
    def _run_picture(self, job: ClaimedJob) -> AttemptOutcome:
        """One ``analyse_picture`` job (see :mod:`ai_cs.processing.pictures`)."""
        source = str(job.payload.get("source") or "")
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(job.id, stop), daemon=True)
        beat.start()
        try:
            self.flow.analyse_picture(source)
        except OSError as exc:
            # The result could not be written (disk full, permissions): retried with backoff.
            error = f"{type(exc).__name__}: {exc}"
            self.db.run_write(
                lambda s: self.queue.fail(s, job.id, self.worker_id, error, retry=True)
            )
            return AttemptOutcome(None, "retry", error)
        finally:
            stop.set()
            beat.join()
        self.db.run_write(lambda s: self.queue.complete(s, job.id, self.worker_id))
        return AttemptOutcome(None, "analysed")

    def _run_job(self, job: ClaimedJob) -> AttemptOutcome:
        assert job.task_id is not None
        task_id = job.task_id
        task = self.flow.task_row(task_id)
        if task is None or task["status"] != TaskStatus.PROCESSING.value:
            self.db.run_write(lambda s: self.queue.complete(s, job.id, self.worker_id))
            return AttemptOutcome(task_id, "skipped", f"task is {task and task['status']}")

        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(job.id, stop), daemon=True)
        beat.start()
        try:
            key = self.flow.produce(task)
        except AicsError as exc:
            # Engine errors, unreadable pictures and failed quality checks are all domain
            # errors: a failed attempt. Anything else is a bug; the job keeps its lease, which
            # expires, and the reaper retries it or hands the task to a designer.
            return self._failed(job, f"{exc.code}: {exc.message}")
        finally:
            stop.set()
            beat.join()
        return self._succeeded(job, key)

    def _heartbeat(self, job_id: int, stop: threading.Event) -> None:
        interval = max(0.05, self.lease_seconds / 3)
        while not stop.wait(interval):
            try:
                held = self.db.run_write(
                    lambda s: self.queue.heartbeat(s, job_id, self.worker_id, self.lease_seconds)
                )
            except Exception:  # noqa: BLE001 - a failed heartbeat must not kill the attempt
                log.warning("heartbeat for job %s failed", job_id, exc_info=True)
                continue
            if not held:
                return

    def _succeeded(self, job: ClaimedJob, key: str) -> AttemptOutcome:
        assert job.task_id is not None
        task_id = job.task_id

        def run(session: Session) -> AttemptOutcome:
            if not self.queue.complete(session, job.id, self.worker_id):
                # The reaper gave the job to another worker meanwhile: that one decides.
                return AttemptOutcome(task_id, "lease_lost")
            self.flow.succeed(session, task_id, key, job.attempts)
            return AttemptOutcome(task_id, "completed")

        try:
            return self.db.run_write(run)
        except AicsError as exc:
            # The task left `processing` meanwhile (refunded by staff): the job ends here.
            self.db.run_write(lambda s: self.queue.complete(s, job.id, self.worker_id))
            return AttemptOutcome(task_id, "skipped", exc.message)

    def _failed(self, job: ClaimedJob, error: str) -> AttemptOutcome:
        assert job.task_id is not None
        task_id = job.task_id
        log.info(
            "job %s for %s failed (attempt %s/%s): %s",
            job.id,
            task_id,
            job.attempts,
            job.max_attempts,
            error,
        )

        def run(session: Session) -> AttemptOutcome:
            retry = not job.last_attempt
            status = self.queue.fail(session, job.id, self.worker_id, error, retry=retry)
            if status is None:
                return AttemptOutcome(task_id, "lease_lost", error)
            if retry:
                self.flow.record_retry(session, task_id, job.attempts, error)
                return AttemptOutcome(task_id, "retry", error)
            self.flow.give_up(session, task_id, job.attempts, error)
            return AttemptOutcome(task_id, "handed_to_designer", error)

        return self.db.run_write(run)

    # ------------------------------------------------------------------ loops
    async def run_forever(self, stop: asyncio.Event, *, idle_sleep: float = 0.5) -> None:
        """Run jobs until ``stop`` is set (``aics serve`` / ``aics worker``)."""
        while not stop.is_set():
            try:
                outcome = await asyncio.to_thread(self.run_once)
            except Exception:  # noqa: BLE001 - keep the worker alive; the lease protects the job
                log.exception("worker step failed")
                outcome = None
            if outcome is None:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=idle_sleep)
                except TimeoutError:
                    pass
