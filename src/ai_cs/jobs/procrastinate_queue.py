"""The scale-out queue: Procrastinate on PostgreSQL, with the embedded queue's semantics.

- **Same transaction.** :meth:`ProcrastinateQueue.enqueue` calls Procrastinate's own
  ``procrastinate_defer_jobs_v1`` on the caller's SQLAlchemy connection, so the job is deferred
  in the transaction that moves the task to ``processing`` (no lost or orphan jobs).
- **One job per task at a time.** ``queueing_lock = task_id`` (one waiting job per task) and
  ``lock = task_id`` (one running job per task).
- **Retries.** A failed attempt with attempts left raises, and Procrastinate's retry strategy runs
  it again with backoff; the last attempt hands the task to a designer and ends the job.
- **Stalled jobs.** Workers send heartbeats; :func:`retry_stalled_jobs` (run periodically by
  :func:`run_worker`) puts the jobs of workers that stopped heartbeating back in the queue.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import procrastinate
from procrastinate import RetryStrategy
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from ai_cs.clock import Clock, iso
from ai_cs.db.database import Database
from ai_cs.errors import AicsError
from ai_cs.jobs.queue import ANALYSE_PICTURE, PROCESS_TASK, JobSpec

if TYPE_CHECKING:
    # Only for annotations: the processing flow sits above the queue that delivers its jobs.
    from ai_cs.processing.worker import ProcessingFlow

log = logging.getLogger(__name__)

QUEUE_NAME = "processing"
RETRY_WAIT_SECONDS = 2


class RetryableAttemptFailed(Exception):
    """Raised inside the Procrastinate task so Procrastinate retries the job."""


def libpq_url(sqlalchemy_url: str) -> str:
    """A libpq connection URI from a SQLAlchemy ``postgresql+psycopg://`` URL."""
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


class ProcrastinateQueue:
    """Defers jobs into Procrastinate's tables in the caller's transaction."""

    name = "procrastinate"

    def enqueue(self, session: Session, job: JobSpec) -> None:
        """Defer through Procrastinate's SQL function on the session's connection."""
        if session.get_bind().dialect.name != "postgresql":
            raise RuntimeError("the Procrastinate queue needs PostgreSQL")
        lock = job.task_id
        session.execute(
            text(
                "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW("
                ":queue, :task, 0, :lock, :queueing_lock, CAST(:args AS jsonb), "
                "CAST(:scheduled AS timestamptz))::procrastinate_job_to_defer_v1]))"
            ),
            {
                "queue": QUEUE_NAME,
                "task": job.kind,
                "lock": lock,
                "queueing_lock": lock,
                "args": json.dumps({"task_id": job.task_id, **job.payload}),
                "scheduled": None,
            },
        )


def build_app(database_url: str, flow: ProcessingFlow, *, max_attempts: int) -> procrastinate.App:
    """A Procrastinate app whose ``process_task`` runs one attempt of the processing flow."""
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=libpq_url(database_url))
    )

    def retry(failure: type[Exception]) -> RetryStrategy:
        # A lost database connection is worth another attempt for every task.
        return RetryStrategy(
            max_attempts=max(0, max_attempts - 1),
            wait=RETRY_WAIT_SECONDS,
            retry_exceptions={failure, DBAPIError},
        )

    @app.task(
        name=PROCESS_TASK,
        queue=QUEUE_NAME,
        pass_context=True,
        retry=retry(RetryableAttemptFailed),
    )
    async def process_task(context: procrastinate.JobContext, /, task_id: str, **_: Any) -> str:
        job = context.job
        attempt = int(job.attempts or 0) + 1
        return await asyncio.to_thread(run_attempt, flow, task_id, attempt, max_attempts)

    @app.task(name=ANALYSE_PICTURE, queue=QUEUE_NAME, retry=retry(OSError))
    async def analyse_picture(source: str, **_: Any) -> str:
        await asyncio.to_thread(flow.analyse_picture, source)
        return "analysed"

    return app


def run_attempt(flow: ProcessingFlow, task_id: str, attempt: int, max_attempts: int) -> str:
    """One attempt; raises :class:`RetryableAttemptFailed` when Procrastinate should retry."""
    task = flow.task_row(task_id)
    if task is None or task["status"] != "processing":
        return "skipped"
    try:
        key = flow.produce(task)
    except AicsError as exc:
        error = f"{exc.code}: {exc.message}"
        if attempt < max_attempts:
            flow.db.run_write(lambda s: flow.record_retry(s, task_id, attempt, error))
            raise RetryableAttemptFailed(error) from exc
        flow.db.run_write(lambda s: flow.give_up(s, task_id, attempt, error))
        return "handed_to_designer"
    try:
        flow.db.run_write(lambda s: flow.succeed(s, task_id, key, attempt))
    except AicsError as exc:
        return f"skipped: {exc.message}"
    return "completed"


async def retry_stalled_jobs(app: procrastinate.App, seconds_since_heartbeat: float) -> int:
    """Put the jobs of workers that stopped heartbeating back in the queue."""
    from datetime import UTC, datetime

    stalled = list(
        await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=seconds_since_heartbeat)
    )
    for job in stalled:
        log.warning("retrying stalled job %s (%s)", job.id, job.task_name)
        await app.job_manager.retry_job(job, retry_at=datetime.now(UTC))
    return len(stalled)


STUCK_AFTER_SECONDS = 60.0
"""A task in ``processing`` this long without a waiting or running job has lost its job."""


def requeue_stuck_tasks(
    db: Database, clock: Clock, *, older_than: float = STUCK_AFTER_SECONDS
) -> int:
    """Defer a new job for every ``processing`` task that has none waiting or running.

    The safety net behind "nothing lost": a job can end without settling its task when the
    database went away during the attempt (the task's update failed, Procrastinate recorded the
    job as failed). The task's ``retry_count`` keeps counting across the new job.
    """
    cutoff = iso(clock.now() - timedelta(seconds=older_than))
    with db.read() as session:
        stuck = list(
            session.execute(
                text(
                    "SELECT t.task_id FROM image_tasks t WHERE t.status = 'processing' "
                    "AND t.updated_at < :cutoff AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j "
                    "WHERE j.lock = t.task_id AND j.status IN ('todo', 'doing'))"
                ),
                {"cutoff": cutoff},
            ).scalars()
        )
    queue = ProcrastinateQueue()
    for task_id in stuck:
        log.warning("task %s is processing without a job; deferring a new one", task_id)
        try:
            with db.write() as session:
                queue.enqueue(session, JobSpec(kind=PROCESS_TASK, task_id=task_id))
        except IntegrityError:
            pass  # a job appeared meanwhile (queueing lock): nothing to do
    return len(stuck)


async def run_worker(
    app: procrastinate.App,
    stop: asyncio.Event,
    *,
    concurrency: int = 1,
    heartbeat_interval: float = 2.0,
    stalled_after: float = 10.0,
    name: str | None = None,
    recover: ProcessingFlow | None = None,
) -> None:
    """Run a Procrastinate worker and the stalled-job sweeper until ``stop`` is set."""
    async with app.open_async():
        worker = asyncio.create_task(
            app.run_worker_async(
                queues=[QUEUE_NAME],
                concurrency=concurrency,
                install_signal_handlers=False,
                update_heartbeat_interval=heartbeat_interval,
                stalled_worker_timeout=stalled_after,
                fetch_job_polling_interval=0.5,
                name=name or "ai-cs",
            )
        )
        try:
            while not stop.is_set():
                try:
                    await retry_stalled_jobs(app, stalled_after)
                    if recover is not None:
                        await asyncio.to_thread(requeue_stuck_tasks, recover.db, recover.clock)
                except Exception:  # noqa: BLE001 - the sweeper must outlive a passing DB error
                    log.exception("stalled-job sweep failed")
                try:
                    await asyncio.wait_for(stop.wait(), timeout=heartbeat_interval)
                except TimeoutError:
                    pass
        finally:
            worker.cancel()
            try:
                await worker
            except asyncio.CancelledError:
                pass
