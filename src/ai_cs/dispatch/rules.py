"""Dispatch job rules: statuses, allowed transitions, deadlines and the shop's labels.

Pure data and functions (no I/O) so they can be read in one place and unit-tested.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from ai_cs.core.operations import OPERATIONS
from ai_cs.core.tasks import check_step, parse_member
from ai_cs.errors import Conflict, InvalidArgument


class JobStatus(StrEnum):
    """Status of a dispatch job."""

    OPEN = "open"  # 待接单
    CLAIMED = "claimed"  # 已接单, a designer works on it
    DONE = "done"  # 已完成, the result is uploaded


JOB_TRANSITIONS: Final[frozenset[tuple[JobStatus, JobStatus]]] = frozenset(
    {
        (JobStatus.OPEN, JobStatus.CLAIMED),  # claim
        (JobStatus.CLAIMED, JobStatus.OPEN),  # release
        (JobStatus.CLAIMED, JobStatus.DONE),  # finish
    }
)
"""Every allowed ``(previous, current)`` job status pair; each applied as a compare-and-set."""


class CallbackStatus(StrEnum):
    """Delivery state of the finish callback to the API on 6060."""

    PENDING = "pending"  # not yet acknowledged; retried with backoff
    SENT = "sent"  # acknowledged (2xx)
    REJECTED = "rejected"  # refused for good (4xx other than auth/timeouts); kept for staff


CLAIM_DEADLINE_SECONDS: Final = 4 * 3600.0
"""Time a designer has after claiming before a reminder is recorded (4 hours)."""

CALLBACK_LEASE_SECONDS: Final = 60.0
"""How long a sender holds a callback before another sender may try it (crash recovery)."""

OPERATION_LABELS: Final[dict[str, str]] = {
    op.value: spec.designer_label for op, spec in OPERATIONS.items()
}
"""How designers see each operation."""

STATUS_LABELS: Final[dict[str, str]] = {
    JobStatus.OPEN: "待接单",
    JobStatus.CLAIMED: "已接单",
    JobStatus.DONE: "已完成",
}


class UnknownJobStatus(InvalidArgument, code="unknown_job_status"):
    """A status filter that names no job status."""


class JobStateConflict(Conflict, code="job_state_conflict"):
    """The job is not in a status from which this change is allowed."""


def parse_job_status(value: object) -> JobStatus:
    """The job status named by ``value`` or :class:`UnknownJobStatus`."""
    return parse_member(JobStatus, value, UnknownJobStatus, "job status")


def check_job_transition(job_id: str, previous: JobStatus, current: JobStatus) -> None:
    """Raise :class:`JobStateConflict` unless ``previous → current`` is allowed."""
    check_step(
        JOB_TRANSITIONS, previous, current, JobStateConflict, f"job {job_id!r}", job_id=job_id
    )


def is_overdue(status: str, due_epoch: float | None, now_epoch: float) -> bool:
    """A claimed job whose deadline has passed."""
    return status == JobStatus.CLAIMED and due_epoch is not None and due_epoch <= now_epoch


def callback_outcome(status_code: int) -> CallbackStatus:
    """What a callback answer means for the sender.

    2xx: delivered. 401/403 (secret or key mismatch, fixable by configuration), 408, 425, 429
    and 5xx: try again later. Any other 4xx: the receiver refuses this callback for good.
    """
    if 200 <= status_code < 300:
        return CallbackStatus.SENT
    if status_code in (401, 403, 408, 425, 429) or status_code >= 500:
        return CallbackStatus.PENDING
    return CallbackStatus.REJECTED
