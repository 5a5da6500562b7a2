"""Dispatch job services: create, list, claim, release, finish, reminders, callback outbox.

Functions take a session and never commit; the routes and background loops commit. Every status
change is one compare-and-set UPDATE whose WHERE repeats the rule (``status = 'open'`` for a
claim, the claimer's name and key for release and finish), so two designers racing for one job
can never both win. Finishing writes the callback to the API into ``dispatch_callbacks`` in the
same transaction, so a finished job's callback can be late but is never lost.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.orm import Session

from ai_cs.clock import Clock, iso
from ai_cs.core.tasks import check_id, parse_operation
from ai_cs.dispatch.models import DispatchCallback, DispatchJob, DispatchReminder
from ai_cs.dispatch.results import CheckedResult, deliverable_label
from ai_cs.dispatch.rules import (
    CALLBACK_LEASE_SECONDS,
    CLAIM_DEADLINE_SECONDS,
    OPERATION_LABELS,
    CallbackStatus,
    JobStateConflict,
    JobStatus,
    check_job_transition,
    is_overdue,
    parse_job_status,
)
from ai_cs.dispatch.schemas import JobCreate
from ai_cs.errors import Conflict, Forbidden, InvalidArgument, NotFound


class JobNotFound(NotFound, code="job_not_found"):
    """No dispatch job has this id."""


class JobAlreadyClaimed(Conflict, code="job_already_claimed"):
    """Another designer claimed the job first (接单失败: 已被接走)."""


class NotJobClaimer(Forbidden, code="not_job_claimer"):
    """Only the designer (and key) who claimed a job may release or finish it."""


class IdempotencyKeyReused(Conflict, code="idempotency_key_reused"):
    """The idempotency key was used before for a different job request."""


RESULT_PATH = "/api/v1/jobs/{job_id}/result"


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _json_or_none(value: Any) -> str | None:
    return None if value is None else _canonical(value)


def decode_json(value: str | None) -> Any:
    """A stored JSON column decoded (the text itself when it is not JSON)."""
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value


def new_job_id(clock: Clock) -> str:
    """``JOB_20260227_1a2b3c4d``: the shop's date and random hex (unique without a counter)."""
    return f"JOB_{clock.now():%Y%m%d}_{secrets.token_hex(4)}"


def request_hash(body: JobCreate) -> str:
    """Fingerprint of a job request (without its idempotency key) to spot a reused key."""
    return hashlib.sha256(
        _canonical(body.model_dump(exclude={"idempotency_key"})).encode()
    ).hexdigest()


def job_to_dict(row: DispatchJob, now_epoch: float, base_url: str) -> dict[str, Any]:
    """A job as the HTTP API returns it (JSON columns decoded, the result as a URL)."""
    return {
        "job_id": row.job_id,
        "task_id": row.task_id,
        "operation": row.operation,
        "operation_label": OPERATION_LABELS.get(row.operation, row.operation),
        "reason": row.reason,
        "status": row.status,
        "original_image": row.original_image,
        "customer_notes": row.customer_notes,
        "analysis": decode_json(row.analysis),
        "deliver_as": deliverable_label(row.operation, decode_json(row.analysis)),
        "quote": decode_json(row.quote),
        "acc_id": row.acc_id,
        "acc_type": row.acc_type,
        "customer_id": row.customer_id,
        "designer": row.designer,
        "claimed_at": row.claimed_at,
        "deadline_at": row.deadline_at,
        "overdue": is_overdue(row.status, row.due_epoch, now_epoch),
        "reminded_at": row.reminded_at,
        "reminders": row.reminders or 0,
        "finished_at": row.finished_at,
        "result_url": (
            base_url + RESULT_PATH.format(job_id=row.job_id) if row.result_path else None
        ),
        "result_sha256": row.result_sha256,
        "result_mime": row.result_mime,
        "result_bytes": row.result_bytes,
        "result_name": row.result_name,
        "callback_status": row.callback_status,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def load_job(session: Session, job_id: str) -> DispatchJob:
    """The job (fresh from the database) or :class:`JobNotFound`."""
    row = session.execute(
        select(DispatchJob)
        .where(DispatchJob.job_id == job_id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if row is None:
        raise JobNotFound(f"job {job_id!r} not found", job_id=job_id)
    return row


def find_by_key(session: Session, key: str) -> DispatchJob | None:
    """The job created with this idempotency key, if any."""
    return session.execute(
        select(DispatchJob)
        .where(DispatchJob.idempotency_key == key)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def resolve_idempotency_key(header: str | None, body: JobCreate) -> str | None:
    """The request's idempotency key from the header or the body (they must agree)."""
    from_header = header.strip() if header else None
    from_body = body.idempotency_key.strip() if body.idempotency_key else None
    if from_header and from_body and from_header != from_body:
        raise InvalidArgument(
            f"Idempotency-Key header {from_header!r} and body key {from_body!r} differ"
        )
    key = from_header or from_body
    if key is not None:
        key = check_id("idempotency_key", key)
    return key


def existing_for_key(session: Session, key: str, fingerprint: str) -> DispatchJob | None:
    """The job already made for ``key`` (a retry), or ``None``; a different request is refused."""
    row = find_by_key(session, key)
    if row is not None and row.request_hash != fingerprint:
        raise IdempotencyKeyReused(
            f"idempotency key {key!r} was used for another job request ({row.job_id!r})",
            job_id=row.job_id,
        )
    return row


def create_job(
    session: Session, clock: Clock, body: JobCreate, idempotency_key: str | None
) -> tuple[DispatchJob, bool]:
    """Store a new open job, or return the one already made for the key; ``(job, created)``.

    A concurrent twin with the same key fails on the unique index at flush; the caller retries
    once and then finds the winner's job here.
    """
    check_id("task_id", body.task_id)
    operation = parse_operation(body.operation)
    fingerprint = request_hash(body)
    key = idempotency_key or f"auto:{uuid.uuid4().hex}"
    existing = existing_for_key(session, key, fingerprint)
    if existing is not None:
        return existing, False
    now = iso(clock.now())
    row = DispatchJob(
        job_id=new_job_id(clock),
        idempotency_key=key,
        request_hash=fingerprint,
        task_id=body.task_id.strip(),
        original_image=body.original_image.strip(),
        operation=operation.value,
        customer_notes=body.customer_notes,
        analysis=_json_or_none(body.analysis),
        quote=_json_or_none(body.quote),
        reason=body.reason.strip(),
        acc_id=body.acc_id,
        acc_type=body.acc_type,
        customer_id=body.customer_id,
        status=JobStatus.OPEN.value,
        reminders=0,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row, True


def list_jobs(
    session: Session,
    *,
    status: str | None = None,
    designer: str | None = None,
    task_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[DispatchJob], int]:
    """Jobs oldest first (the longest-waiting job on top) with filters; ``(page, total)``."""
    stmt = select(DispatchJob)
    if status is not None:
        stmt = stmt.where(DispatchJob.status == parse_job_status(status).value)
    for column, value in ((DispatchJob.designer, designer), (DispatchJob.task_id, task_id)):
        if value is not None:
            stmt = stmt.where(column == check_id(column.key, value))
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(
        stmt.order_by(DispatchJob.created_at, DispatchJob.job_id)
        .limit(max(1, min(limit, 500)))
        .offset(max(0, offset))
    ).scalars()
    return list(rows), int(total)


def _is_claimer(row: DispatchJob, designer: str, key_id: str) -> bool:
    return row.designer == designer and row.claimed_by_key == key_id


def _set_if(session: Session, conditions: list[Any], **values: Any) -> bool:
    """Compare-and-set on one job: write ``values`` where ``conditions`` hold; True if it did.

    Racing designers and retried requests meet here: the loser sees False and reads the row.
    """
    changed = session.execute(
        update(DispatchJob)
        .where(*conditions)
        .values(**values)
        .returning(DispatchJob.job_id)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    return changed is not None


def claim_job(
    session: Session, clock: Clock, job_id: str, designer: str, key_id: str
) -> DispatchJob:
    """Give an open job to ``designer`` (接单); the deadline starts now.

    Claiming again by the same designer and key returns the job unchanged (a retried request);
    anyone else gets :class:`JobAlreadyClaimed`.
    """
    name = check_id("designer", designer)
    now = clock.now()
    deadline = now + timedelta(seconds=CLAIM_DEADLINE_SECONDS)
    won = _set_if(
        session,
        [DispatchJob.job_id == job_id, DispatchJob.status == JobStatus.OPEN.value],
        status=JobStatus.CLAIMED.value,
        designer=name,
        claimed_by_key=key_id,
        claimed_at=iso(now),
        deadline_at=iso(deadline),
        due_epoch=clock.epoch() + CLAIM_DEADLINE_SECONDS,
        reminded_at=None,
        updated_at=iso(now),
    )
    row = load_job(session, job_id)
    if won:
        return row
    if row.status == JobStatus.CLAIMED and _is_claimer(row, name, key_id):
        return row
    if row.status == JobStatus.CLAIMED:
        raise JobAlreadyClaimed(
            f"job {job_id!r} was already claimed by another designer", job_id=job_id
        )
    check_job_transition(job_id, JobStatus(row.status), JobStatus.CLAIMED)
    raise AssertionError("unreachable")  # pragma: no cover


def release_job(
    session: Session,
    clock: Clock,
    job_id: str,
    designer: str,
    key_id: str,
    *,
    admin: bool = False,
) -> DispatchJob:
    """Give a claimed job back to the open list (放弃); only its claimer (or an admin)."""
    name = check_id("designer", designer)
    conditions = [DispatchJob.job_id == job_id, DispatchJob.status == JobStatus.CLAIMED.value]
    if not admin:
        conditions += [DispatchJob.designer == name, DispatchJob.claimed_by_key == key_id]
    done = _set_if(
        session,
        conditions,
        status=JobStatus.OPEN.value,
        designer=None,
        claimed_by_key=None,
        claimed_at=None,
        deadline_at=None,
        due_epoch=None,
        reminded_at=None,
        updated_at=iso(clock.now()),
    )
    row = load_job(session, job_id)
    if done:
        return row
    if row.status == JobStatus.CLAIMED:
        raise NotJobClaimer(
            f"job {job_id!r} is claimed by another designer; only they can release it",
            job_id=job_id,
        )
    check_job_transition(job_id, JobStatus(row.status), JobStatus.OPEN)
    raise AssertionError("unreachable")  # pragma: no cover


def check_can_finish(session: Session, job_id: str, designer: str, key_id: str) -> DispatchJob:
    """The job when ``designer`` (with this key) may upload its result; checked before reading.

    A job this designer already finished passes too, so a retried upload can be answered with
    the stored job when it carries the same file.
    """
    name = check_id("designer", designer)
    row = load_job(session, job_id)
    if row.status == JobStatus.OPEN:
        raise JobStateConflict(
            f"job {job_id!r} is open; claim it before uploading a result", job_id=job_id
        )
    if not _is_claimer(row, name, key_id):
        raise NotJobClaimer(
            f"job {job_id!r} belongs to another designer; only they can finish it",
            job_id=job_id,
        )
    return row


def finish_job(
    session: Session,
    clock: Clock,
    job_id: str,
    designer: str,
    key_id: str,
    *,
    result: CheckedResult,
    result_path: str,
    result_name: str | None,
    base_url: str,
) -> tuple[DispatchJob, bool]:
    """Mark the job done with its stored result and queue the callback; ``(job, finished_now)``.

    The same designer uploading the same file again gets the finished job back unchanged.
    """
    name = check_id("designer", designer)
    now = clock.now()
    finished = _set_if(
        session,
        [
            DispatchJob.job_id == job_id,
            DispatchJob.status == JobStatus.CLAIMED.value,
            DispatchJob.designer == name,
            DispatchJob.claimed_by_key == key_id,
        ],
        status=JobStatus.DONE.value,
        finished_at=iso(now),
        result_path=result_path,
        result_sha256=result.sha256,
        result_mime=result.mime,
        result_bytes=len(result.data),
        result_name=result_name,
        callback_status=CallbackStatus.PENDING.value,
        updated_at=iso(now),
    )
    row = load_job(session, job_id)
    if not finished:
        if row.status == JobStatus.DONE and _is_claimer(row, name, key_id):
            if row.result_sha256 == result.sha256:
                return row, False
            raise JobStateConflict(
                f"job {job_id!r} is already finished with another file", job_id=job_id
            )
        check_can_finish(session, job_id, name, key_id)
        check_job_transition(job_id, JobStatus(row.status), JobStatus.DONE)
        raise AssertionError("unreachable")  # pragma: no cover
    event_id = uuid.uuid4().hex
    body = {
        "event_id": event_id,
        "job_id": row.job_id,
        "task_id": row.task_id,
        "designer": name,
        "result_url": base_url + RESULT_PATH.format(job_id=row.job_id),
        "result_sha256": result.sha256,
        "result_mime": result.mime,
        "result_bytes": len(result.data),
        "result_name": result_name,
        "finished_at": iso(now),
    }
    session.add(
        DispatchCallback(
            event_id=event_id,
            job_id=row.job_id,
            body=_canonical(body),
            status=CallbackStatus.PENDING.value,
            attempts=0,
            next_attempt_at=clock.epoch(),
            created_at=iso(now),
        )
    )
    session.flush()
    return row, True


def workload(session: Session, now_epoch: float) -> list[dict[str, Any]]:
    """Claimed, overdue and finished jobs per designer, busiest first."""
    claimed = DispatchJob.status == JobStatus.CLAIMED.value
    rows = session.execute(
        select(
            DispatchJob.designer,
            func.sum(case((claimed, 1), else_=0)),
            func.sum(case((claimed & (DispatchJob.due_epoch <= now_epoch), 1), else_=0)),
            func.sum(case((DispatchJob.status == JobStatus.DONE.value, 1), else_=0)),
        )
        .where(DispatchJob.designer.is_not(None))
        .group_by(DispatchJob.designer)
    ).all()
    out: list[dict[str, Any]] = [
        {
            "designer": str(designer),
            "claimed": int(n_claimed or 0),
            "overdue": int(n_overdue or 0),
            "done": int(n_done or 0),
        }
        for designer, n_claimed, n_overdue, n_done in rows
    ]
    out.sort(key=lambda w: (-w["claimed"], -w["done"], w["designer"]))
    return out


def remind_overdue(session: Session, clock: Clock) -> list[dict[str, Any]]:
    """Record one reminder for every claimed job past its deadline that has none yet (催单).

    One UPDATE marks the jobs (``reminded_at IS NULL`` in its WHERE), so two loops running at
    once never remind twice; a release or a new claim clears the mark.
    """
    now = clock.now()
    marked = session.execute(
        update(DispatchJob)
        .where(
            DispatchJob.status == JobStatus.CLAIMED.value,
            DispatchJob.due_epoch <= clock.epoch(),
            DispatchJob.reminded_at.is_(None),
        )
        .values(reminded_at=iso(now), reminders=DispatchJob.reminders + 1, updated_at=iso(now))
        .returning(
            DispatchJob.job_id, DispatchJob.task_id, DispatchJob.designer, DispatchJob.deadline_at
        )
        .execution_options(synchronize_session=False)
    ).all()
    reminders = []
    for job_id, task_id, designer, deadline_at in marked:
        message = (
            f"{designer} 您好：任务 {task_id}（派单 {job_id}）已超过截止时间 {deadline_at}，"
            "请尽快上传结果；如无法完成请放弃，以便其他设计师接手。"
        )
        reminders.append(
            {"job_id": job_id, "designer": designer, "kind": "overdue", "message": message}
        )
    if reminders:
        session.execute(
            insert(DispatchReminder),
            [{**r, "created_at": iso(now)} for r in reminders],
        )
    return reminders


def list_reminders(
    session: Session, *, designer: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Recorded reminders, newest first."""
    stmt = select(DispatchReminder)
    if designer is not None:
        stmt = stmt.where(DispatchReminder.designer == check_id("designer", designer))
    rows = session.execute(
        stmt.order_by(DispatchReminder.id.desc()).limit(max(1, min(limit, 500)))
    ).scalars()
    return [
        {
            "job_id": r.job_id,
            "designer": r.designer,
            "kind": r.kind,
            "message": r.message,
            "created_at": r.created_at,
        }
        for r in rows
    ]


# --- callback outbox --------------------------------------------------------------------------
@dataclass(frozen=True)
class ClaimedCallback:
    """A callback this sender holds for one delivery attempt."""

    id: int
    event_id: str
    job_id: str
    body: bytes
    attempts: int


def due_callbacks(session: Session, now_epoch: float, limit: int) -> list[int]:
    """Ids of pending callbacks whose next attempt is due, oldest first."""
    return list(
        session.execute(
            select(DispatchCallback.id)
            .where(
                DispatchCallback.status == CallbackStatus.PENDING.value,
                DispatchCallback.next_attempt_at <= now_epoch,
            )
            .order_by(DispatchCallback.next_attempt_at, DispatchCallback.id)
            .limit(limit)
        ).scalars()
    )


def claim_callback(session: Session, clock: Clock, callback_id: int) -> ClaimedCallback | None:
    """Take a due callback for one attempt (compare-and-set), or ``None`` if another sender won.

    The claim pushes ``next_attempt_at`` a lease ahead, so a sender that dies mid-attempt leaves
    the callback due again after :data:`CALLBACK_LEASE_SECONDS` instead of lost.
    """
    now = clock.epoch()
    row = session.execute(
        update(DispatchCallback)
        .where(
            DispatchCallback.id == callback_id,
            DispatchCallback.status == CallbackStatus.PENDING.value,
            DispatchCallback.next_attempt_at <= now,
        )
        .values(
            next_attempt_at=now + CALLBACK_LEASE_SECONDS, attempts=DispatchCallback.attempts + 1
        )
        .returning(
            DispatchCallback.id,
            DispatchCallback.event_id,
            DispatchCallback.job_id,
            DispatchCallback.body,
            DispatchCallback.attempts,
        )
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if row is None:
        return None
    return ClaimedCallback(
        id=row.id,
        event_id=row.event_id,
        job_id=row.job_id,
        body=row.body.encode("utf-8"),
        attempts=row.attempts,
    )


def settle_callback(
    session: Session,
    clock: Clock,
    claimed: ClaimedCallback,
    outcome: CallbackStatus,
    *,
    error: str | None = None,
    retry_in: float = 0.0,
) -> None:
    """Record an attempt's outcome on the callback and its job (sent, rejected, or retry later)."""
    values: dict[str, Any] = {"status": outcome.value, "last_error": error}
    if outcome is CallbackStatus.SENT:
        values["sent_at"] = iso(clock.now())
    elif outcome is CallbackStatus.PENDING:
        values["next_attempt_at"] = clock.epoch() + retry_in
    changed = session.execute(
        update(DispatchCallback)
        .where(
            DispatchCallback.id == claimed.id,
            DispatchCallback.status == CallbackStatus.PENDING.value,
        )
        .values(**values)
        .returning(DispatchCallback.id)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if changed is None:
        return  # another sender settled it after our lease ran out; its outcome stands
    session.execute(
        update(DispatchJob)
        .where(DispatchJob.job_id == claimed.job_id)
        .values(callback_status=outcome.value, updated_at=iso(clock.now()))
        .execution_options(synchronize_session=False)
    )


def callback_rows(session: Session, job_id: str) -> list[Mapping[str, Any]]:
    """The callback outbox rows of one job (for staff and tests)."""
    rows = session.execute(
        select(DispatchCallback)
        .where(DispatchCallback.job_id == job_id)
        .order_by(DispatchCallback.id)
    ).scalars()
    return [
        {
            "event_id": r.event_id,
            "status": r.status,
            "attempts": r.attempts,
            "last_error": r.last_error,
            "sent_at": r.sent_at,
            "body": json.loads(r.body),
        }
        for r in rows
    ]
