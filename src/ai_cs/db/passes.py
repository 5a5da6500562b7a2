"""What the outbox relays share: the leased claim of a row, its settling, the counts, the loop.

The dispatch relay and the notification relay each deliver rows of their own table in passes;
both tables have ``id``, ``status``, ``attempts`` and ``next_attempt_at``, and both relays want
the same rules, kept here once:

- a due ``pending`` row is claimed with a compare-and-set that counts the attempt and pushes
  ``next_attempt_at`` a lease ahead, so of several relays exactly one sends it and one that
  dies mid-attempt only delays the row by the lease;
- only a row still ``pending`` is settled: one that another relay finished after our lease ran
  out keeps that relay's outcome;
- a pass that found a full batch is followed at once by the next, an idle one by a sleep that
  ``stop`` cuts short, and a pass the database failed is logged and tried again later (its rows
  stay where they are, the next pass picks them up).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy import Row, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

R = TypeVar("R")

PENDING = "pending"


@dataclass
class DeliveryCounts:
    """What one relay pass did with the rows it tried."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0  # another relay held the row

    @property
    def attempted(self) -> int:
        """Rows this pass tried to send."""
        return self.sent + self.retried + self.failed


def claim_due(
    session: Session,
    model: Any,
    row_id: int,
    now: float,
    *,
    lease_seconds: float,
    returning: tuple[Any, ...],
) -> Row[Any] | None:
    """Take one due pending row of ``model`` for an attempt, or ``None`` if another relay did.

    ``model`` is a mapped class with the outbox columns; ``returning`` names what comes back.
    """
    return session.execute(
        update(model)
        .where(model.id == row_id, model.status == PENDING, model.next_attempt_at <= now)
        .values(next_attempt_at=now + lease_seconds, attempts=model.attempts + 1)
        .returning(*returning)
        .execution_options(synchronize_session=False)
    ).one_or_none()


def settle_pending(session: Session, model: Any, row_id: int, **values: Any) -> None:
    """Record an attempt's outcome on a row of ``model``, if it is still pending."""
    session.execute(
        update(model)
        .where(model.id == row_id, model.status == PENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def run_passes(
    pass_: Callable[[], R],
    *,
    busy: Callable[[R], bool],
    stop: asyncio.Event,
    interval: float,
    name: str,
) -> None:
    """Run ``pass_`` (blocking) in a worker thread until ``stop`` is set.

    ``busy(report)`` says whether the pass left work behind (then the next starts at once);
    otherwise the loop waits ``interval`` seconds or until ``stop``. ``name`` names the loop in
    the log line of a failed pass.
    """
    while not stop.is_set():
        try:
            again = busy(await anyio.to_thread.run_sync(pass_))
        except SQLAlchemyError as exc:
            log.error("%s pass failed: %s", name, exc)
            again = False
        if again:
            continue
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
