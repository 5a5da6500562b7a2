"""The dispatch outbox relay: hand-offs written by ``hand_to_designer`` reach the dispatch service.

:func:`deliver_due` takes due ``outbox`` rows of topic ``dispatch``. Each row is first claimed
with a compare-and-set that pushes its ``next_attempt_at`` a lease ahead and counts the attempt,
so of several relays racing (threads, processes) exactly one sends it; a relay that dies after
claiming only delays the row by the lease. The row's key goes as ``Idempotency-Key``, so a
request whose answer was lost and is sent again finds the same job: nothing is lost (the row
commits with the status change) and nothing is doubled (the key).

On failure the row stays ``pending`` with ``last_error`` and an exponential backoff; a request
the service refuses for good (a 4xx other than auth) becomes ``failed`` and stays in the table
for staff. The pass itself is :meth:`ai_cs.notify.outbox.OutboxTable.deliver`, shared with the
notification relay. :func:`run_relay` is the loop ``aics serve`` starts; :func:`serve_relay`
builds the HTTP client from the settings and runs it.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import anyio.to_thread
from sqlalchemy.orm import Session

from ai_cs.clock import Clock
from ai_cs.config import Settings
from ai_cs.db.database import Database
from ai_cs.db.models import OutboxMessage
from ai_cs.db.passes import DeliveryCounts, run_passes
from ai_cs.dispatch.client import (
    DispatchClient,
    DispatchRejected,
    DispatchUnavailable,
    HttpDispatchClient,
)
from ai_cs.jobs.embedded import backoff_seconds
from ai_cs.notify import outbox
from ai_cs.tasks.handoff import DISPATCH_TOPIC


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


def _describe(message: ClaimedMessage) -> str:
    return f"dispatch of {message.key}"


OUTBOX: Final = outbox.OutboxTable(
    OutboxMessage, (OutboxMessage.key, OutboxMessage.payload), _describe
)


def due_ids(session: Session, now_epoch: float, limit: int) -> list[int]:
    """Ids of pending dispatch messages whose attempt is due, oldest first."""
    return OUTBOX.due_ids(session, now_epoch, limit, OutboxMessage.topic == DISPATCH_TOPIC)


def claim(session: Session, clock: Clock, row_id: int) -> ClaimedMessage | None:
    """Take one due row for an attempt (compare-and-set), or ``None`` if another relay did."""
    row = OUTBOX.claim_row(session, clock, row_id)
    if row is None:
        return None
    return ClaimedMessage(
        id=row.id, key=row.key, payload=json.loads(row.payload), attempts=row.attempts
    )


def deliver_due(
    db: Database,
    clock: Clock,
    client: DispatchClient,
    limit: int = 20,
    *,
    backoff: Callable[[int], float] = backoff_seconds,
) -> RelayReport:
    """Send every due dispatch message once; see the module docstring."""
    job_ids: list[str] = []
    report = RelayReport(job_ids=job_ids)
    with db.read() as session:
        ids = due_ids(session, clock.epoch(), limit)

    def send(message: ClaimedMessage) -> outbox.Undelivered | None:
        try:
            job = client.create_job(message.payload, idempotency_key=message.key)
        except DispatchUnavailable as exc:
            return outbox.Undelivered(exc.message)
        except DispatchRejected as exc:
            # The service refused it for good: kept as ``failed`` for staff, not sent again.
            return outbox.Undelivered(exc.message, final=True)
        job_ids.append(str(job["job_id"]))
        return None

    OUTBOX.deliver(db, clock, ids, report, claim=claim, send=send, backoff=backoff)
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
