"""Job queue: one interface, an embedded implementation (same database) and Procrastinate."""

from ai_cs.jobs.queue import JobQueue, JobSpec

__all__ = ["JobQueue", "JobSpec"]
