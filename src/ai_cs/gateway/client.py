"""The marketplace gateway client (the seed's ``core/websocket_client.py``, CONTRACT §7).

One :class:`GatewayClient` per process and shop account set:

* **Lease.** Before connecting it takes the account lease (``gateway_account_leases``) and
  renews it; a second client for the same account waits until the lease is free, so two
  clients never answer the same customers.
* **Connection.** A websocket to ``AICS_GATEWAY_URL`` with keep-alive pings and a pong timeout
  (a silent peer is dropped), re-opened after any failure with exponential backoff and jitter.
* **Inbox.** Each event frame is stored (unique ``event_id``) and committed, *then* acked.
  Frames that arrive while a store is running are stored together in the next transaction.
  A redelivered event is acked again and never processed twice, across restarts too.
* **Processing.** :class:`~ai_cs.gateway.processor.EventProcessor` runs the per-conversation
  lanes, independent of the connection.
* **Outbox.** Due sends go out with their ``command_id``; a send stays pending until the
  gateway answers ``sent`` and goes out again (same id) after a timeout and after every
  reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Final

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from ai_cs.agent.handler import create_message_handler
from ai_cs.config import Settings
from ai_cs.conversations.contracts import MessageHandler
from ai_cs.gateway.processor import EventProcessor, GatewayStats
from ai_cs.marketplace import service as gw
from ai_cs.marketplace.backoff import backoff_delay as jittered_backoff
from ai_cs.marketplace.protocol import (
    MAX_FRAME_CHARS,
    Ignored,
    ReceivedEvent,
    SentReceipt,
    ack_frame,
    parse_frame,
    send_frame,
)
from ai_cs.workflow import Workflow

log = logging.getLogger(__name__)

HandlerFactory = Callable[[Workflow], MessageHandler]
"""Builds the handler that answers customer turns (default: the shop's agent)."""

LEASE_SECONDS: Final = 30.0
"""Account lease length; renewed every third of it. A crashed client's lease frees after this."""
PING_INTERVAL_SECONDS: Final = 10.0
PING_TIMEOUT_SECONDS: Final = 10.0
"""A peer that does not answer a ping within this is considered gone (liveness timeout)."""
OPEN_TIMEOUT_SECONDS: Final = 10.0
BACKOFF_BASE_SECONDS: Final = 0.5
BACKOFF_MAX_SECONDS: Final = 30.0
STABLE_CONNECTION_SECONDS: Final = 5.0
"""A connection that lasted this long resets the backoff."""
SEND_POLL_SECONDS: Final = 0.5
"""How often the outbox is looked at when nobody in this process said it changed."""
SEND_BATCH: Final = 200
STORE_BATCH: Final = 500


def backoff_delay(
    attempt: int,
    *,
    base: float = BACKOFF_BASE_SECONDS,
    cap: float = BACKOFF_MAX_SECONDS,
    rng: Callable[[], float] = random.random,
) -> float:
    """The gateway's reconnect delay (:func:`ai_cs.marketplace.backoff.backoff_delay`)."""
    return jittered_backoff(attempt, base=base, cap=cap, rng=rng)


def default_holder() -> str:
    """A lease holder name unique to this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class GatewayClient:
    """Connects to the gateway and keeps the inbox, lanes and outbox going."""

    def __init__(
        self,
        workflow: Workflow,
        *,
        url: str | None = None,
        settings: Settings | None = None,
        handler: MessageHandler | None = None,
        handler_factory: HandlerFactory | None = None,
        accounts: Sequence[str] = (gw.ALL_ACCOUNTS,),
        holder: str | None = None,
        lease_seconds: float = LEASE_SECONDS,
        ping_interval: float = PING_INTERVAL_SECONDS,
        ping_timeout: float = PING_TIMEOUT_SECONDS,
        burst_window_ms: int | None = None,
        takeover_minutes: float | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.workflow = workflow
        self.settings = settings or workflow.settings
        self.url = url if url is not None else self.settings.gateway_url
        if not self.url:
            raise ValueError("no gateway URL: set AICS_GATEWAY_URL")
        self.db = workflow.db
        self.clock = workflow.clock
        self.accounts = tuple(sorted(set(accounts))) or (gw.ALL_ACCOUNTS,)
        scope = frozenset(self.accounts)
        self.scope: frozenset[str] | None = None if gw.ALL_ACCOUNTS in scope else scope
        self.holder = holder or default_holder()
        self.lease_seconds = lease_seconds
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.rng = rng
        if handler is None:
            handler = (handler_factory or create_message_handler)(workflow)
        self.handler = handler
        self.stats = GatewayStats()
        self.processor = EventProcessor(
            workflow,
            handler,
            settings=self.settings,
            accounts=self.scope,
            burst_window_ms=burst_window_ms,
            takeover_minutes=takeover_minutes,
            on_outbox=self.outbox_changed,
            stats=self.stats,
        )
        self.connected = asyncio.Event()
        self._lease_held = asyncio.Event()
        self._send_wake = asyncio.Event()
        self._ws: ClientConnection | None = None

    # ------------------------------------------------------------------ public
    @property
    def lease_held(self) -> asyncio.Event:
        """Set while this client holds its account lease (and so may talk to the gateway)."""
        return self._lease_held

    def outbox_changed(self) -> None:
        """Something was queued in the send outbox in this process: send it now."""
        self._send_wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set: lease, connection with reconnects, lanes and outbox."""
        inner = asyncio.Event()
        background = [
            asyncio.create_task(self._keep_lease(inner), name="gateway-lease"),
            asyncio.create_task(self.processor.run(inner), name="gateway-lanes"),
        ]
        try:
            await self._connect_loop(stop)
        finally:
            inner.set()
            await asyncio.gather(*background, return_exceptions=True)
            await asyncio.to_thread(self._release_leases)

    # ------------------------------------------------------------------ lease
    def _acquire_leases(self) -> bool:
        def run(session: Session) -> bool:
            for account in self.accounts:
                if not gw.acquire_lease(
                    session, self.clock, account, self.holder, self.lease_seconds
                ):
                    return False
            return True

        held = self.db.run_write(run)
        if not held:
            # All or nothing: do not keep half of a multi-account set.
            self._release_leases()
        return held

    def _release_leases(self) -> None:
        def run(session: Session) -> None:
            for account in self.accounts:
                gw.release_lease(session, account, self.holder)

        try:
            self.db.run_write(run)
        except SQLAlchemyError:
            log.warning("gateway: releasing the lease failed; it expires by itself")

    async def _keep_lease(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                held = await asyncio.to_thread(self._acquire_leases)
            except SQLAlchemyError:
                log.warning("gateway: lease renewal failed", exc_info=True)
                held = False
            if held:
                if not self._lease_held.is_set():
                    log.info("gateway: holding accounts %s as %s", self.accounts, self.holder)
                self._lease_held.set()
            else:
                if self._lease_held.is_set():
                    log.warning("gateway: lost the account lease; disconnecting")
                self._lease_held.clear()
                if self._ws is not None:
                    await self._ws.close(1001, "account lease lost")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.lease_seconds / 3)

    # ------------------------------------------------------------------ connection
    async def _connect_loop(self, stop: asyncio.Event) -> None:
        attempt = 0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            if not self._lease_held.is_set():
                await _wait_any(stop, self._lease_held)
                continue
            opened_at = loop.time()
            try:
                async with connect(
                    self.url,
                    open_timeout=OPEN_TIMEOUT_SECONDS,
                    ping_interval=self.ping_interval,
                    ping_timeout=self.ping_timeout,
                    close_timeout=2.0,
                    max_size=MAX_FRAME_CHARS * 4,
                    proxy=None,
                ) as ws:
                    self._ws = ws
                    self.stats.connections += 1
                    self.connected.set()
                    log.info("gateway: connected to %s", self.url)
                    await self._session(ws, stop)
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI, ConnectionClosed) as exc:
                log.warning("gateway: connection to %s failed: %r", self.url, exc)
            finally:
                self._ws = None
                self.connected.clear()
            if stop.is_set():
                break
            if loop.time() - opened_at >= STABLE_CONNECTION_SECONDS:
                attempt = 0
            delay = backoff_delay(attempt, rng=self.rng)
            attempt += 1
            log.info("gateway: reconnecting in %.2fs", delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)

    async def _session(self, ws: ClientConnection, stop: asyncio.Event) -> None:
        """One open connection: reader, store-and-ack writer and sender until one ends."""
        try:
            await asyncio.to_thread(
                self.db.run_write,
                lambda s: gw.resend_pending_now(s, self.clock.epoch(), accounts=self.scope),
            )
        except SQLAlchemyError:
            log.warning("gateway: could not reschedule pending sends", exc_info=True)
        self._send_wake.set()
        frames: asyncio.Queue[ReceivedEvent | SentReceipt] = asyncio.Queue()
        tasks = {
            asyncio.create_task(self._read(ws, frames), name="gateway-read"),
            asyncio.create_task(self._store_and_ack(ws, frames), name="gateway-store"),
            asyncio.create_task(self._send(ws), name="gateway-send"),
            asyncio.create_task(stop.wait(), name="gateway-stop"),
            asyncio.create_task(self._lease_gone(), name="gateway-lease-watch"),
        }
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                exc = task.exception()
                if exc is not None and not isinstance(exc, ConnectionClosed):
                    log.warning("gateway: %s ended: %r", task.get_name(), exc)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await ws.close()

    async def _lease_gone(self) -> None:
        while self._lease_held.is_set():
            await asyncio.sleep(0.2)

    async def _read(
        self, ws: ClientConnection, frames: asyncio.Queue[ReceivedEvent | SentReceipt]
    ) -> None:
        async for data in ws:
            frame = parse_frame(data)
            if isinstance(frame, Ignored):
                self.stats.ignored_frames += 1
                log.info("gateway: ignored a frame: %s", frame.reason)
                continue
            if isinstance(frame, ReceivedEvent):
                self.stats.events_received += 1
            frames.put_nowait(frame)

    async def _store_and_ack(
        self, ws: ClientConnection, frames: asyncio.Queue[ReceivedEvent | SentReceipt]
    ) -> None:
        while True:
            batch = [await frames.get()]
            while not frames.empty() and len(batch) < STORE_BATCH:
                batch.append(frames.get_nowait())
            events = [f for f in batch if isinstance(f, ReceivedEvent)]
            receipts = [f.command_id for f in batch if isinstance(f, SentReceipt)]

            def store(
                session: Session,
                events: list[ReceivedEvent] = events,
                receipts: list[str] = receipts,
            ) -> int:
                stored = gw.store_events(session, self.clock, events)
                gw.mark_sent(session, self.clock, receipts)
                return len(stored)

            # A failed store raises here and ends the session without acks: the gateway
            # redelivers after the reconnect, so nothing is lost.
            stored = await asyncio.to_thread(self.db.run_write, store)
            self.stats.events_stored += stored
            self.stats.receipts += len(receipts)
            if stored:
                self.processor.wake()
            for event in events:
                await ws.send(ack_frame(event.event_id))
                self.stats.acks_sent += 1

    async def _send(self, ws: ClientConnection) -> None:
        while True:
            self._send_wake.clear()
            due = await asyncio.to_thread(
                self.db.run_write,
                lambda s: gw.claim_due_sends(
                    s, self.clock.epoch(), accounts=self.scope, limit=SEND_BATCH
                ),
            )
            for item in due:
                await ws.send(
                    send_frame(
                        command_id=item.command_id,
                        account_id=item.account_id,
                        conversation_id=item.conversation_id,
                        to=item.to,
                        message=item.message,
                    )
                )
                self.stats.sends_sent += 1
            if len(due) >= SEND_BATCH:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._send_wake.wait(), timeout=SEND_POLL_SECONDS)


async def _wait_any(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)


async def run_gateway(
    settings: Settings,
    stop: asyncio.Event,
    *,
    workflow: Workflow | None = None,
    handler_factory: HandlerFactory | None = None,
    deliver_results: bool = True,
    on_client: Callable[[GatewayClient], None] | None = None,
    **client_options: Any,
) -> None:
    """Run the gateway client and the result-delivery loop until ``stop`` (``aics serve``).

    Does nothing when no gateway URL is configured. ``on_client`` sees the client before it
    runs (an in-process bridge follows its lease).
    """
    if not settings.gateway_url:
        log.info("gateway: AICS_GATEWAY_URL is empty; the gateway client stays off")
        return
    own = workflow is None
    if workflow is None:
        from ai_cs.db.wait import when_database_answers

        workflow = await asyncio.to_thread(
            when_database_answers, lambda: Workflow(settings=settings)
        )
    wf = workflow
    try:
        client = GatewayClient(
            wf, settings=settings, handler_factory=handler_factory, **client_options
        )
        if on_client is not None:
            on_client(client)
        jobs = [client.run(stop)]
        if deliver_results:
            from ai_cs.gateway.delivery import ResultDelivery

            delivery = ResultDelivery(wf.db, wf.clock, settings, on_queued=client.outbox_changed)
            jobs.append(delivery.run(stop))
        await asyncio.gather(*jobs)
    finally:
        if own:
            wf.close()
