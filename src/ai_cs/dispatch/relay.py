"""The dispatch outbox relay: hand-offs written by ``hand_to_designer`` reach the dispatch service.

:func:`deliver_due` takes due ``outbox`` rows of topic ``dispatch``. Each row is first claimed
with a compare-and-set that pushes its ``next_attempt_at`` a lease ahead and counts the attempt,
so of several relays racing (threads, processes) exactly one sends it; a relay that dies after
claiming only delays the row by the lease. The row's key goes as ``Idempotency-Key``, so a
request whose answer was lost and is sent again finds the same job: nothing is lost (the row
commits with the status change) and nothing is doubled (the key).

On failure the row stays ``pending`` with ``last_error`` and an exponential backoff; a request
the service refuses for good (a 4xx other than auth) becomes ``failed`` and stays in the table
for staff. :func:`run_relay` is the loop ``aics serve`` starts; :func:`serve_relay` builds the
HTTP client from the settings and runs it.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.orm import Session

from ai_cs.clock import Clock, iso
from ai_cs.config import Settings
from ai_cs.db.database import Database
from ai_cs.db.models import OutboxMessage
from ai_cs.db.passes import PENDING, DeliveryCounts, claim_due, run_passes, settle_pending
from ai_cs.dispatch.client import (
    DispatchClient,
    DispatchRejected,
    DispatchUnavailable,
    HttpDispatchClient,
)
from ai_cs.jobs.embedded import backoff_seconds
from ai_cs.tasks.handoff import DISPATCH_TOPIC

log = logging.getLogger(__name__)

SENT = "sent"
FAILED = "failed"
LEASE_SECONDS = 60.0
"""How long a claimed row is hidden from other relays while one sends it."""
MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class ClaimedMessage:
    """An outbox row this relay holds for one attempt."""

    id: int
    key: str
    payload: dict[str, Any]
    attempts: int


@dataclass
class RelayReport(DeliveryCounts):
    """What one :func:`deliver_due` pass did."""

    job_ids: list[str] | None = None


def due_ids(session: Session, now_epoch: float, limit: int) -> list[int]:
    """Ids of pending dispatch messages whose attempt is due, oldest first."""
    return list(
        session.execute(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.topic == DISPATCH_TOPIC,
                OutboxMessage.status == PENDING,
                OutboxMessage.next_attempt_at <= now_epoch,
            )
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        ).scalars()
    )


def claim(session: Session, clock: Clock, message_id: int) -> ClaimedMessage | None:
    """Take one due row for an attempt (compare-and-set), or ``None`` if another relay did."""
    row = claim_due(
        session,
        OutboxMessage,
        message_id,
        clock.epoch(),
        lease_seconds=LEASE_SECONDS,
        returning=(
            OutboxMessage.id,
            OutboxMessage.key,
            OutboxMessage.payload,
            OutboxMessage.attempts,
        ),
    )
    if row is None:
        return None
    return ClaimedMessage(
        id=row.id, key=row.key, payload=json.loads(row.payload), attempts=row.attempts
    )


def _settle(session: Session, message_id: int, **values: Any) -> None:
    settle_pending(session, OutboxMessage, message_id, **values)


def deliver_due(
    db: Database,
    clock: Clock,
    client: DispatchClient,
    limit: int = 20,
    *,
    backoff: Callable[[int], float] = backoff_seconds,
) -> RelayReport:
    """Send every due dispatch message once; see the module docstring."""
    report = RelayReport(job_ids=[])
    with db.read() as session:
        ids = due_ids(session, clock.epoch(), limit)
    for message_id in ids:
        message = db.run_write(functools.partial(claim, clock=clock, message_id=message_id))
        if message is None:
            report.skipped += 1
            continue
        try:
            job = client.create_job(message.payload, idempotency_key=message.key)
        except DispatchUnavailable as exc:
            report.retried += 1
            delay = backoff(message.attempts)
            log.warning(
                "dispatch of %s failed (attempt %d), retry in %.0fs: %s",
                message.key,
                message.attempts,
                delay,
                exc.message,
            )
            db.run_write(
                functools.partial(
                    _settle,
                    message_id=message.id,
                    next_attempt_at=clock.epoch() + delay,
                    last_error=exc.message[:MAX_ERROR_CHARS],
                )
            )
            continue
        except DispatchRejected as exc:
            report.failed += 1
            log.error("dispatch service refused %s for good: %s", message.key, exc.message)
            db.run_write(
                functools.partial(
                    _settle,
                    message_id=message.id,
                    status=FAILED,
                    last_error=exc.message[:MAX_ERROR_CHARS],
                )
            )
            continue
        report.sent += 1
        assert report.job_ids is not None
        report.job_ids.append(str(job["job_id"]))
        db.run_write(
            functools.partial(
                _settle,
                message_id=message.id,
                status=SENT,
                sent_at=iso(clock.now()),
                last_error=None,
            )
        )
    return report


async def run_relay(
    db: Database,
    clock: Clock,
    client: DispatchClient,
    *,
    interval: float = 1.0,
    limit: int = 20,
    stop: asyncio.Event | None = None,
    backoff: Callable[[int], float] = backoff_seconds,
) -> None:
    """Deliver dispatch messages until ``stop`` is set (or the task is cancelled).

    Passes run in a worker thread (the database and HTTP calls block); a full pass is followed
    at once by the next, an idle one by ``interval`` seconds of sleep.
    """
    await run_passes(
        functools.partial(deliver_due, db, clock, client, limit, backoff=backoff),
        busy=lambda report: report.attempted >= limit,
        stop=stop or asyncio.Event(),
        interval=interval,
        name="dispatch relay",
    )


async def serve_relay(
    settings: Settings,
    db: Database,
    clock: Clock,
    *,
    stop: asyncio.Event | None = None,
    interval: float = 1.0,
) -> None:
    """:func:`run_relay` with the HTTP client for the configured dispatch service (for serve)."""
    client = await anyio.to_thread.run_sync(HttpDispatchClient.from_settings, settings, db, clock)
    try:
        await run_relay(db, clock, client, interval=interval, stop=stop)
    finally:
        client.close()
