"""Background work of the dispatch service: deliver finish callbacks, record overdue reminders.

:func:`deliver_callbacks` takes due rows from the callback outbox one by one with a
compare-and-set claim, signs and posts each to the API on 6060, and records the answer: sent,
rejected for good, or due again after an exponential backoff. Several senders (processes or
loops) may run at once; a row is attempted by one of them at a time and a sender that dies
mid-attempt only delays it by the claim's lease. Nothing is dropped on restart because the rows
are in the database.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import httpx

from ai_cs.clock import Clock
from ai_cs.core.signing import sign_headers
from ai_cs.db.database import Database
from ai_cs.db.passes import DeliveryCounts
from ai_cs.dispatch import service
from ai_cs.dispatch.rules import CallbackStatus, callback_outcome
from ai_cs.jobs.embedded import backoff_seconds

log = logging.getLogger(__name__)

CALLBACK_PATH = "/api/v1/dispatch/callback"
MAX_ERROR_CHARS = 500


def _describe(response: httpx.Response) -> str:
    text = response.text[:MAX_ERROR_CHARS] if response.content else ""
    return f"HTTP {response.status_code}: {text}".strip()


def deliver_callbacks(
    db: Database,
    clock: Clock,
    http: httpx.Client,
    *,
    api_base_url: str,
    secret: bytes,
    limit: int = 20,
    backoff: Callable[[int], float] = backoff_seconds,
) -> DeliveryCounts:
    """Send every due finish callback once; see the module docstring."""
    report = DeliveryCounts()
    with db.read() as session:
        due = service.due_callbacks(session, clock.epoch(), limit)
    url = api_base_url.rstrip("/") + CALLBACK_PATH
    for callback_id in due:
        claimed = db.run_write(
            functools.partial(service.claim_callback, clock=clock, callback_id=callback_id)
        )
        if claimed is None:
            report.skipped += 1
            continue
        headers = {
            "Content-Type": "application/json",
            **sign_headers(secret, claimed.body, clock.epoch()),
        }
        error: str | None
        try:
            response = http.post(url, content=claimed.body, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            outcome, error = (
                CallbackStatus.PENDING,
                f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS],
            )
        else:
            outcome = callback_outcome(response.status_code)
            error = None if outcome is CallbackStatus.SENT else _describe(response)
        if outcome is CallbackStatus.PENDING:
            report.retried += 1
            log.warning(
                "callback %s of job %s not delivered (attempt %d): %s",
                claimed.event_id,
                claimed.job_id,
                claimed.attempts,
                error,
            )
        elif outcome is CallbackStatus.REJECTED:
            report.failed += 1  # refused for good: the callback is rejected
            log.error("callback of job %s refused by the API: %s", claimed.job_id, error)
        else:
            report.sent += 1
        delay = backoff(claimed.attempts)
        db.run_write(
            functools.partial(
                service.settle_callback,
                clock=clock,
                claimed=claimed,
                outcome=outcome,
                error=error,
                retry_in=delay,
            )
        )
    return report


def record_reminders(db: Database, clock: Clock) -> int:
    """Record reminders for overdue claimed jobs; returns how many were recorded."""
    reminders = db.run_write(lambda s: service.remind_overdue(s, clock))
    for reminder in reminders:
        log.warning("overdue: %s", reminder["message"])
    return len(reminders)
