"""Embedded job queue: jobs live in the ``jobs`` table of the same database.

Semantics (shared with the Procrastinate queue):
- enqueue happens in the caller's transaction;
- at most one live (queued or running) job per task, enforced by a partial unique index;
- a worker claims a job with a lease (``lease_until``) and extends it with heartbeats;
- a job whose lease expired (the worker crashed) is taken back by the reaper and run again;
- a failed attempt is retried with exponential backoff until ``max_attempts`` is spent.

Claiming is a single compare-and-set UPDATE; on PostgreSQL the candidate is chosen with
``FOR UPDATE SKIP LOCKED`` so workers do not queue behind each other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Table, and_, bindparam, insert, select, update
from sqlalchemy.orm import Session

from ai_cs.clock import Clock, iso
from ai_cs.db.models import Job
from ai_cs.db.prepared import is_pg, prepared, run
from ai_cs.jobs.queue import JobSpec

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
DEAD = "dead"

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 300.0


@dataclass(frozen=True)
class ClaimedJob:
    """A job a worker holds the lease on."""

    id: int
    kind: str
    task_id: str | None
    payload: dict[str, Any]
    attempts: int
    max_attempts: int

    @property
    def last_attempt(self) -> bool:
        """True when a failure of this attempt spends the retries."""
        return self.attempts >= self.max_attempts


JOBS: Table = Job.__table__  # type: ignore[assignment]
_MINE = (
    JOBS.c.id == bindparam("w_id"),
    JOBS.c.status == RUNNING,
    JOBS.c.locked_by == bindparam("w_worker"),
)
"""The job, still running under this worker's lease."""

# Prebuilt statements (ai_cs.db.prepared): a job's claim and completion run a handful of
# statements, and building them per call cost more than the database work.
INSERT_JOB = insert(JOBS)
CLAIM = (
    update(JOBS)
    .where(and_(JOBS.c.id == bindparam("w_id"), JOBS.c.status == QUEUED))
    .values(
        status=RUNNING,
        lease_until=bindparam("lease_until"),
        locked_by=bindparam("locked_by"),
        attempts=JOBS.c.attempts + 1,
    )
    .returning(
        JOBS.c.id, JOBS.c.kind, JOBS.c.task_id, JOBS.c.payload, JOBS.c.attempts, JOBS.c.max_attempts
    )
)
HEARTBEAT = (
    update(JOBS).where(*_MINE).values(lease_until=bindparam("lease_until")).returning(JOBS.c.id)
)
COMPLETE = (
    update(JOBS)
    .where(*_MINE)
    .values(status=DONE, lease_until=None, finished_at=bindparam("finished_at"))
    .returning(JOBS.c.id)
)
ATTEMPTS = select(JOBS.c.attempts).where(*_MINE)
FAIL = (
    update(JOBS)
    .where(*_MINE)
    .values(
        status=bindparam("status"),
        lease_until=None,
        locked_by=None,
        last_error=bindparam("last_error"),
        run_after=bindparam("run_after"),
        finished_at=bindparam("finished_at"),
    )
    .returning(JOBS.c.id)
)


@prepared
def _candidate(pg: bool) -> Any:
    stmt = (
        select(JOBS.c.id)
        .where(JOBS.c.status == QUEUED, JOBS.c.run_after <= bindparam("w_now"))
        .order_by(JOBS.c.run_after, JOBS.c.id)
        .limit(1)
    )
    return stmt.with_for_update(skip_locked=True) if pg else stmt


def backoff_seconds(attempts: int) -> float:
    """Delay before the next try after ``attempts`` failed attempts."""
    return float(min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS ** max(1, attempts)))


def _claimed(row: Row[*tuple[Any, ...]]) -> ClaimedJob:
    """A claimed job from a ``jobs`` row (its JSON payload decoded)."""
    return ClaimedJob(
        id=row.id,
        kind=row.kind,
        task_id=row.task_id,
        payload=json.loads(row.payload or "{}"),
        attempts=row.attempts,
        max_attempts=row.max_attempts,
    )


class EmbeddedQueue:
    """Jobs in the application database (SQLite or PostgreSQL)."""

    name = "embedded"

    def __init__(self, clock: Clock, *, max_attempts: int = 3) -> None:
        self.clock = clock
        self.default_max_attempts = max_attempts

    def enqueue(self, session: Session, job: JobSpec) -> None:
        """Insert the job in the caller's transaction."""
        run(
            session,
            INSERT_JOB,
            {
                "kind": job.kind,
                "task_id": job.task_id,
                "payload": json.dumps(job.payload, ensure_ascii=False),
                "status": QUEUED,
                "attempts": 0,
                "max_attempts": job.max_attempts or self.default_max_attempts,
                "run_after": self.clock.epoch() + job.delay_seconds,
                "created_at": iso(self.clock.now()),
            },
        )

    def claim(self, session: Session, worker_id: str, lease_seconds: float) -> ClaimedJob | None:
        """Take the next due job, or ``None``."""
        now = self.clock.epoch()
        job_id = run(session, _candidate(is_pg(session)), {"w_now": now}).scalar_one_or_none()
        if job_id is None:
            return None
        row = run(
            session,
            CLAIM,
            {"w_id": job_id, "lease_until": now + lease_seconds, "locked_by": worker_id},
        ).one_or_none()
        if row is None:
            return None
        return _claimed(row)

    def heartbeat(
        self, session: Session, job_id: int, worker_id: str, lease_seconds: float
    ) -> bool:
        """Extend the lease; False when the job is no longer ours (the reaper took it back)."""
        params = {
            "w_id": job_id,
            "w_worker": worker_id,
            "lease_until": self.clock.epoch() + lease_seconds,
        }
        return run(session, HEARTBEAT, params).one_or_none() is not None

    def complete(self, session: Session, job_id: int, worker_id: str) -> bool:
        """Mark the job done; False when the lease was lost meanwhile."""
        params = {"w_id": job_id, "w_worker": worker_id, "finished_at": iso(self.clock.now())}
        return run(session, COMPLETE, params).one_or_none() is not None

    def fail(
        self, session: Session, job_id: int, worker_id: str, error: str, *, retry: bool
    ) -> str | None:
        """Record a failed attempt: back to ``queued`` with backoff, or ``dead``.

        Returns the new status, or ``None`` when the lease was lost meanwhile.
        """
        mine = {"w_id": job_id, "w_worker": worker_id}
        job = run(session, ATTEMPTS, mine).one_or_none()
        if job is None:
            return None
        status = QUEUED if retry else DEAD
        result = run(
            session,
            FAIL,
            {
                **mine,
                "status": status,
                "last_error": error[:2000],
                "run_after": self.clock.epoch() + backoff_seconds(job.attempts),
                "finished_at": None if retry else iso(self.clock.now()),
            },
        ).one_or_none()
        return status if result is not None else None

    def reap(self, session: Session) -> list[ClaimedJob]:
        """Take back jobs whose lease expired (their worker died).

        Jobs with attempts left go back to ``queued``; the others are returned still ``running``
        with their lease cleared, for the caller to settle (the processing flow hands those to a
        human) and mark dead.
        """
        now = self.clock.epoch()
        expired = session.execute(
            update(Job)
            .where(Job.status == RUNNING, Job.lease_until < now, Job.attempts < Job.max_attempts)
            .values(
                status=QUEUED,
                lease_until=None,
                locked_by=None,
                run_after=now,
                last_error="lease expired (worker stopped)",
            )
            .returning(Job.id)
        ).all()
        del expired
        spent = session.execute(
            update(Job)
            .where(Job.status == RUNNING, Job.lease_until < now, Job.attempts >= Job.max_attempts)
            .values(
                status=DEAD,
                lease_until=None,
                locked_by=None,
                finished_at=iso(self.clock.now()),
                last_error="lease expired (worker stopped) with no attempts left",
            )
            .returning(Job.id, Job.kind, Job.task_id, Job.payload, Job.attempts, Job.max_attempts)
        ).all()
        return [_claimed(r) for r in spent]

    def counts(self, session: Session) -> dict[str, int]:
        """Jobs by status (for metrics and tests)."""
        from sqlalchemy import func

        rows = session.execute(select(Job.status, func.count()).group_by(Job.status)).all()
        return {status: int(n) for status, n in rows}
