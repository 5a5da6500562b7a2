"""The job-queue interface used by services.

A job is enqueued inside the caller's transaction (the session it is handed), so a job exists
exactly when the status change that asked for it was committed: no lost job after a crash between
the two, no job for a change that was rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

PROCESS_TASK = "process_task"
ANALYSE_PICTURE = "analyse_picture"
"""Analyse one customer picture (payload ``{"source": url}``; see ai_cs.processing.pictures)."""


@dataclass(frozen=True)
class JobSpec:
    """What to run: a kind, the task it concerns, and a JSON payload."""

    kind: str
    task_id: str | None
    payload: dict[str, Any] = field(default_factory=dict)
    max_attempts: int | None = None
    """``None`` = the queue's default (``AICS_JOB_MAX_ATTEMPTS``)."""
    delay_seconds: float = 0.0


class JobQueue(Protocol):
    """Enqueue jobs transactionally."""

    name: str

    def enqueue(self, session: Session, job: JobSpec) -> None:
        """Add ``job`` in the session's transaction (committed or rolled back with it)."""
        ...
