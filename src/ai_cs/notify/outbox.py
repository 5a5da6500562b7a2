"""One outbox as a relay walks it: what the notification and dispatch relays share.

The notification relay (:mod:`ai_cs.notify.relay`) and the dispatch relay
(:mod:`ai_cs.dispatch.relay`) deliver their due rows the same way, on the rules of
:mod:`ai_cs.db.passes`: each row is claimed (``skipped`` when another relay holds it), sent once,
then settled — ``sent``; back to waiting with a backoff and the answer in ``last_error``; or,
for an answer that trying again will not change, ``failed``. An :class:`OutboxTable` holds what
differs in the table (the model, what a claim reads, a row's name in the log); how a row is sent
and which failures are final come to :meth:`OutboxTable.deliver` from the relay. It lives in
notify, the lower of the two layers, so that both can use it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, Generic, Protocol, TypeVar

from sqlalchemy import ColumnElement, Row, select
from sqlalchemy.orm import Session

from ai_cs.clock import Clock, iso
from ai_cs.db.database import Database
from ai_cs.db.passes import PENDING, DeliveryCounts, claim_due, settle_pending

log = logging.getLogger(__name__)

SENT: Final = "sent"
FAILED: Final = "failed"
MAX_ERROR_CHARS: Final = 500
LEASE_SECONDS: Final = 60.0
"""How long a claimed row is hidden from other relays while one sends it."""


class ClaimedRow(Protocol):
    """What a relay's claim hands back: the row and the attempt it is on."""

    @property
    def id(self) -> int: ...

    @property
    def attempts(self) -> int: ...


C = TypeVar("C", bound=ClaimedRow)
C_co = TypeVar("C_co", bound=ClaimedRow, covariant=True)


class Claim(Protocol[C_co]):
    """A relay's claim of one due row (``None``: another relay has it)."""

    def __call__(self, session: Session, clock: Clock, row_id: int) -> C_co | None: ...


@dataclass(frozen=True)
class Undelivered:
    """Why an attempt did not deliver; ``final``: give the row up (``failed``), do not retry."""

    message: str
    final: bool = False


@dataclass(frozen=True)
class OutboxTable(Generic[C]):
    """One outbox as its relay sees it: the mapped table, what a claim reads, a row's log name."""

    model: Any
    columns: tuple[Any, ...]
    """Read by a claim besides ``id`` and ``attempts``."""
    describe: Callable[[C], str]
    lease_seconds: float = LEASE_SECONDS

    def due_ids(
        self, session: Session, now: float, limit: int, *where: ColumnElement[bool]
    ) -> list[int]:
        """Ids of pending rows that are due (and match ``where``), oldest first."""
        model = self.model
        return list(
            session.execute(
                select(model.id)
                .where(model.status == PENDING, model.next_attempt_at <= now, *where)
                .order_by(model.next_attempt_at, model.id)
                .limit(limit)
            ).scalars()
        )

    def claim_row(self, session: Session, clock: Clock, row_id: int) -> Row[Any] | None:
        """Take one due row for an attempt (compare-and-set), or ``None`` if another relay did."""
        return claim_due(
            session,
            self.model,
            row_id,
            clock.epoch(),
            lease_seconds=self.lease_seconds,
            returning=(self.model.id, self.model.attempts, *self.columns),
        )

    def deliver(
        self,
        db: Database,
        clock: Clock,
        ids: Iterable[int],
        report: DeliveryCounts,
        *,
        claim: Claim[C],
        send: Callable[[C], Undelivered | None],
        backoff: Callable[[int], float],
    ) -> None:
        """Claim, send and settle each row of ``ids`` once, counting the outcomes in ``report``.

        ``send`` returns ``None`` when the row went out.
        """
        for row_id in ids:
            claimed = db.run_write(functools.partial(claim, clock=clock, row_id=row_id))
            if claimed is None:
                report.skipped += 1
                continue
            failure = send(claimed)
            values: dict[str, Any]
            if failure is None:
                report.sent += 1
                values = {"status": SENT, "sent_at": iso(clock.now()), "last_error": None}
            elif failure.final:
                report.failed += 1
                log.error("%s given up: %s", self.describe(claimed), failure.message)
                values = {"status": FAILED, "last_error": failure.message[:MAX_ERROR_CHARS]}
            else:
                report.retried += 1
                delay = backoff(claimed.attempts)
                log.warning(
                    "%s failed (attempt %d), retry in %.0fs: %s",
                    self.describe(claimed),
                    claimed.attempts,
                    delay,
                    failure.message,
                )
                values = {
                    "next_attempt_at": clock.epoch() + delay,
                    "last_error": failure.message[:MAX_ERROR_CHARS],
                }
            db.run_write(
                functools.partial(settle_pending, model=self.model, row_id=claimed.id, **values)
            )
