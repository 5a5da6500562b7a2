"""The notification relay: events recorded by :func:`~ai_cs.notify.events.emit` reach the groups.

A pass does two things:

1. **fan-out** — each new event gets one ``notify_deliveries`` row per configured channel
   (unique per event and channel; paid-order notices only when switched on) and is marked
   fanned out, in one transaction. An event recorded while no channel is configured is
   fanned out to nothing: switching a robot on later does not replay the past;
2. **delivery** — each due row is claimed with a compare-and-set that counts the attempt and
   pushes ``next_attempt_at`` a lease ahead (of several relays exactly one sends it), sent, then
   settled: ``sent``, or back to waiting with exponential backoff (capped at 5 minutes) and the
   answer in ``last_error``. After :data:`MAX_ATTEMPTS` (about three hours of trying) it is
   ``failed`` and stays visible in the console. This pass is
   :meth:`ai_cs.notify.outbox.OutboxTable.deliver`, which the dispatch relay runs too.

A row marked ``sent`` is never sent again: one message per event and channel. The one window
for a repeat is a relay that dies after the robot took the message and before it recorded that
(the lease then runs out and another pass sends it again); a lost notice would be worse.
Sending runs in a worker thread and never inside an order's transaction.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ai_cs.clock import Clock, iso
from ai_cs.config import Settings
from ai_cs.core.records import pick, record
from ai_cs.db.database import Database, dialect_insert
from ai_cs.db.passes import PENDING, DeliveryCounts, run_passes
from ai_cs.jobs.embedded import backoff_seconds
from ai_cs.notify.channels import TIMEOUT_SECONDS, Channel, NotifyFailed, configured_channels, send
from ai_cs.notify.events import OPTIONAL_KINDS, NotifyKind
from ai_cs.notify.messages import Notice, render
from ai_cs.notify.models import NotifyDelivery, NotifyEvent
from ai_cs.notify.outbox import OutboxTable, Undelivered

MAX_ATTEMPTS: Final = 40
FAN_OUT_BATCH: Final = 200


@dataclass
class RelayReport(DeliveryCounts):
    """What one pass did."""

    fanned_out: int = 0


def fan_out(session: Session, clock: Clock, channels: list[str], *, paid_orders: bool) -> int:
    """Give new events their per-channel delivery rows; returns how many events it took."""
    events = list(
        session.execute(
            select(NotifyEvent.id, NotifyEvent.kind)
            .where(NotifyEvent.fanned_out == 0)
            .order_by(NotifyEvent.id)
            .limit(FAN_OUT_BATCH)
        )
    )
    for event_id, kind in events:
        wanted = paid_orders or kind not in OPTIONAL_KINDS
        for channel in channels if wanted and kind != NotifyKind.TEST else ():
            session.execute(
                dialect_insert(session, NotifyDelivery)
                .values(
                    event_id=event_id,
                    channel=channel,
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=clock.epoch(),
                    created_at=iso(clock.now()),
                )
                .on_conflict_do_nothing(index_elements=["event_id", "channel"])
            )
    if events:
        session.execute(
            update(NotifyEvent)
            .where(NotifyEvent.id.in_([event_id for event_id, _ in events]))
            .values(fanned_out=1)
        )
    return len(events)


@dataclass(frozen=True)
class Claimed:
    """A delivery this relay holds for one attempt, with its event."""

    id: int
    channel: str
    attempts: int
    event_id: int
    kind: str
    payload: str
    created_at: str


def _describe(claimed: Claimed) -> str:
    return f"notice {claimed.event_id} to {claimed.channel}"


DELIVERIES: Final = OutboxTable(
    NotifyDelivery, (NotifyDelivery.channel, NotifyDelivery.event_id), _describe
)


def claim(session: Session, clock: Clock, row_id: int) -> Claimed | None:
    """Take one due delivery for an attempt, or ``None`` if another relay has it."""
    row = DELIVERIES.claim_row(session, clock, row_id)
    if row is None:
        return None
    event = session.get_one(NotifyEvent, row.event_id)
    return record(Claimed, row, **pick(event, "kind", "payload", "created_at"))


def notice_of(claimed: Claimed, base_url: str) -> Notice:
    """The message of a claimed delivery."""
    payload = json.loads(claimed.payload)
    return render(
        claimed.event_id,
        NotifyKind(claimed.kind),
        payload if isinstance(payload, dict) else {},
        claimed.created_at,
        base_url,
    )


def deliver_due(
    db: Database,
    clock: Clock,
    client: httpx.Client,
    channels: Mapping[str, Channel],
    *,
    base_url: str,
    paid_orders: bool = False,
    limit: int = 20,
    backoff: Callable[[int], float] = backoff_seconds,
) -> RelayReport:
    """One pass: fan out new events, then send every due delivery once."""
    report = RelayReport()
    report.fanned_out = db.run_write(
        functools.partial(fan_out, clock=clock, channels=sorted(channels), paid_orders=paid_orders)
    )
    if not channels:
        return report
    with db.read() as session:
        ids = DELIVERIES.due_ids(
            session, clock.epoch(), limit, NotifyDelivery.channel.in_(list(channels))
        )

    def attempt(claimed: Claimed) -> Undelivered | None:
        try:
            send(client, channels[claimed.channel], notice_of(claimed, base_url), clock.epoch())
        except NotifyFailed as exc:
            return Undelivered(exc.message, final=claimed.attempts >= MAX_ATTEMPTS)
        return None

    DELIVERIES.deliver(db, clock, ids, report, claim=claim, send=attempt, backoff=backoff)
    return report


def http_client() -> httpx.Client:
    """The client the relay sends with (no redirects: a robot URL answers itself)."""
    return httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False)


async def run_relay(
    settings: Settings,
    db: Database,
    clock: Clock,
    *,
    stop: asyncio.Event,
    interval: float = 2.0,
    client: httpx.Client | None = None,
) -> None:
    """Pass after pass until ``stop`` is set; a full pass is followed at once by the next."""
    channels = configured_channels(settings)
    own = client is None
    http = client or http_client()
    pass_ = functools.partial(
        deliver_due,
        db,
        clock,
        http,
        channels,
        base_url=settings.api_base_url,
        paid_orders=settings.notify_paid_orders,
    )
    try:
        await run_passes(
            pass_,
            busy=lambda report: report.attempted >= 20 or report.fanned_out >= FAN_OUT_BATCH,
            stop=stop,
            interval=interval,
            name="notification relay",
        )
    finally:
        if own:
            http.close()


def send_test(settings: Settings, channel_name: str, now_epoch: float, created_at: str) -> None:
    """Send a test message to one configured channel now (the console's 发送测试消息 button).

    Straight to the channel, not through the outbox: staff want the answer while they wait.
    Raises :class:`NotifyFailed` with what the service answered, or ``KeyError`` for a channel
    that is not configured.
    """
    channel = configured_channels(settings)[channel_name]
    notice = render(
        0,
        NotifyKind.TEST,
        {"reason": "这是一条测试消息，收到说明配置正确。"},
        created_at,
        settings.api_base_url,
    )
    with http_client() as client:
        send(client, channel, notice, now_epoch)
