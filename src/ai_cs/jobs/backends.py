"""Choosing the job queue: the embedded one (same database) or Procrastinate (PostgreSQL)."""

from __future__ import annotations

from ai_cs.clock import Clock
from ai_cs.jobs.queue import JobQueue


def make_queue(backend: str, clock: Clock, *, max_attempts: int = 3) -> JobQueue:
    """The queue named by ``AICS_QUEUE_BACKEND``: ``embedded`` (default) or Procrastinate."""
    if backend == "procrastinate":
        from ai_cs.jobs.procrastinate_queue import ProcrastinateQueue

        # Procrastinate counts attempts in its worker's retry strategy (see build_app).
        del max_attempts
        return ProcrastinateQueue()
    if backend != "embedded":
        raise ValueError(f"unknown queue backend {backend!r}; expected embedded or procrastinate")
    from ai_cs.jobs.embedded import EmbeddedQueue

    return EmbeddedQueue(clock)
