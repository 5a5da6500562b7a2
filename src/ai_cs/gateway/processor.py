"""Processing stored gateway events: per-conversation lanes, bursts, and event routing.

Each conversation with unprocessed events gets one lane (an asyncio task); lanes run side by
side, events inside a lane strictly in the order they arrived. A lane step is:

1. one write transaction picks the next thing to do and counts an attempt on it: a *turn* (the
   customer's consecutive messages, merged when they came within the burst window), or a
   single payment / order-status / seller / system event;
2. the work runs — a turn goes to the :class:`~ai_cs.conversations.contracts.MessageHandler`
   (outside any transaction: the agent may take seconds); everything else is database work;
3. one write transaction marks the events ``processed`` (compare-and-set on ``received``) and
   queues the replies in the send outbox with deterministic command ids.

Exactly once: an event is acked only after it is stored, and marked processed in the same
transaction as its effects (payments, refunds, cancellations, confirmations) and its replies. If
the process dies in between, the event is still ``received`` and runs again; the database
effects were rolled back with it, and the replies' command ids are derived from the event ids, so
a re-run queues nothing twice. The one effect outside that transaction is what the handler
commits itself (the agent creating a task, storing the conversation): a crash after the handler
returned and before the events were marked runs the turn again, so that narrow window can repeat
the agent's own writes — never a reply, a payment, a refund or a confirmation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ai_cs.clock import Clock
from ai_cs.config import Settings
from ai_cs.conversations import interim
from ai_cs.conversations import service as conversations
from ai_cs.conversations.contracts import (
    Attachment,
    InboundMessage,
    MessageHandler,
    OutboundMessage,
)
from ai_cs.conversations.models import Conversation
from ai_cs.core import wording
from ai_cs.core.money import yuan_fixed
from ai_cs.errors import AicsError
from ai_cs.marketplace import service as gw
from ai_cs.marketplace.models import FAILED
from ai_cs.marketplace.protocol import GatewayEvent
from ai_cs.tasks import orders
from ai_cs.tasks import service as tasks
from ai_cs.tasks.schemas import Order
from ai_cs.workflow import Workflow

log = logging.getLogger(__name__)

MAX_ATTEMPTS: Final = 3
"""Tries of one event before it is given up as ``failed`` (and the customer told politely)."""
HANDLER_TIMEOUT_SECONDS: Final = 120.0
BURST_MAX_WAIT_FACTOR: Final = 5.0
"""A customer who keeps typing gets an answer at the latest this many windows after the first."""
PAYMENT_HOLD_SECONDS: Final = 600.0
"""How long a payment waits for its task to appear (the picture may arrive after the payment)."""
POLL_SECONDS: Final = 0.5
RETRY_BASE_SECONDS: Final = 2.0
RETRY_MAX_SECONDS: Final = 60.0

REFUND_STATUSES: Final = frozenset({"refunded", "refund", "refund_success", "退款成功", "已退款"})
CLOSE_STATUSES: Final = frozenset(
    {"closed", "close", "cancelled", "canceled", "交易关闭", "已关闭"}
)
CONFIRM_STATUSES: Final = frozenset({"done", "confirmed", "trade_success", "交易成功", "确认收货"})

APOLOGY: Final = "抱歉，刚才系统有点忙，您的消息已转给客服，会尽快回复您。"


def retry_delay(attempts: int) -> float:
    """Wait before the next try of an event after ``attempts`` failed tries."""
    return float(min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS ** max(1, attempts)))


@dataclass(frozen=True)
class Turn:
    """One customer turn: consecutive buyer messages of one conversation, merged."""

    events: list[gw.InboxEvent]
    paused_until: float | None

    @property
    def first(self) -> gw.InboxEvent:
        """The turn's first event (its id names the turn)."""
        return self.events[0]

    @property
    def event_ids(self) -> list[str]:
        """Every event id of the turn."""
        return [e.event_id for e in self.events]

    @property
    def attempts(self) -> int:
        """Tries so far (the highest among the turn's events)."""
        return max(e.attempts for e in self.events)

    def message(self) -> InboundMessage:
        """The turn as one :class:`InboundMessage` for the handler."""
        first = self.first.event
        texts: list[str] = []
        attachments: list[Attachment] = []
        for item in self.events:
            body = item.event.message
            if body is None:
                continue
            if body.text.strip():
                texts.append(body.text.strip())
            attachments.extend(
                Attachment(url=a.url, width=a.width, height=a.height) for a in body.attachments
            )
        return InboundMessage(
            platform=first.platform or "",
            account_id=first.account_id,
            conversation_id=first.conversation_id,
            customer_id=first.sender.id,
            customer_nick=first.sender.nick,
            text="\n".join(texts),
            attachments=tuple(attachments),
            event_ids=tuple(self.event_ids),
            occurred_at=self.events[-1].event.occurred_at,
        )


@dataclass(frozen=True)
class Single:
    """One event that is not a customer's chat message."""

    event: gw.InboxEvent


@dataclass(frozen=True)
class Wait:
    """Nothing to do for ``seconds`` (a burst still open, or a retry not yet due)."""

    seconds: float


@dataclass(frozen=True)
class Idle:
    """The lane has nothing due."""


@dataclass(frozen=True)
class Again:
    """Something was settled (e.g. an event given up); look again at once."""


Step = Turn | Single | Wait | Idle | Again


@dataclass
class Reply:
    """A message to queue: to whom, and under which deterministic command id."""

    command_id: str
    to: str
    message: OutboundMessage


@dataclass
class GatewayStats:
    """What a gateway client and its event processor did (tests, logs, benchmarks).

    One set per client: the connection's counters (counted by
    :class:`~ai_cs.gateway.client.GatewayClient`) and the lanes' (counted by
    :class:`EventProcessor`, which the client builds with its own set).
    """

    connections: int = 0
    events_received: int = 0
    events_stored: int = 0
    acks_sent: int = 0
    sends_sent: int = 0
    receipts: int = 0
    ignored_frames: int = 0
    turns: int = 0
    singles: int = 0
    handler_errors: int = 0
    given_up: int = 0


class EventProcessor:
    """Runs the lanes over the stored inbox of one database."""

    def __init__(
        self,
        workflow: Workflow,
        handler: MessageHandler,
        *,
        settings: Settings | None = None,
        accounts: frozenset[str] | None = None,
        burst_window_ms: int | None = None,
        takeover_minutes: float | None = None,
        on_outbox: Callable[[], None] | None = None,
        stats: GatewayStats | None = None,
    ) -> None:
        self.workflow = workflow
        self.db = workflow.db
        self.clock = workflow.clock
        self.settings = settings or workflow.settings
        self.handler = handler
        self.accounts = accounts
        window_ms = (
            self.settings.gateway_burst_window_ms if burst_window_ms is None else burst_window_ms
        )
        self.burst_window = max(0.0, window_ms / 1000.0)
        self.takeover_minutes = (
            self.settings.takeover_minutes if takeover_minutes is None else takeover_minutes
        )
        self.on_outbox = on_outbox
        self.stats = stats or GatewayStats()
        self._wake = asyncio.Event()
        self._lanes: dict[tuple[str, str], asyncio.Task[None]] = {}

    # ------------------------------------------------------------------ loop
    def wake(self) -> None:
        """New events were stored: look for work now rather than at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Start lanes for conversations with due events until ``stop`` is set."""
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    due = await asyncio.to_thread(self._lanes_due)
                except SQLAlchemyError:
                    log.warning("gateway: reading the inbox failed; retrying", exc_info=True)
                    due = []
                for key in due:
                    if key not in self._lanes:
                        task = asyncio.create_task(self._lane(key), name=f"lane:{key[1]}")
                        task.add_done_callback(_log_lane_failure)
                        self._lanes[key] = task
                stopped = asyncio.create_task(stop.wait())
                woken = asyncio.create_task(self._wake.wait())
                _done, pending = await asyncio.wait(
                    {stopped, woken}, timeout=POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED
                )
                for p in pending:
                    p.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
        finally:
            lanes = list(self._lanes.values())
            for lane in lanes:
                lane.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)

    def _lanes_due(self) -> list[tuple[str, str]]:
        with self.db.read() as session:
            return gw.lanes_due(session, self.clock.epoch(), accounts=self.accounts)

    async def _lane(self, key: tuple[str, str]) -> None:
        try:
            while True:
                try:
                    step = await asyncio.to_thread(self.db.run_write, lambda s: self._next(s, key))
                except SQLAlchemyError:
                    log.warning("gateway lane %s: database error; retrying", key, exc_info=True)
                    await asyncio.sleep(POLL_SECONDS)
                    continue
                if isinstance(step, Idle):
                    return
                if isinstance(step, Wait):
                    await asyncio.sleep(min(step.seconds, POLL_SECONDS * 4))
                elif isinstance(step, Turn):
                    await self._run_turn(step)
                elif isinstance(step, Single):
                    await asyncio.to_thread(self._run_single, step.event)
        finally:
            self._lanes.pop(key, None)
            # Events stored while this lane was finishing need a new lane.
            self._wake.set()

    # ------------------------------------------------------------------ choosing the next step
    def _next(self, session: Session, key: tuple[str, str]) -> Step:
        account_id, conversation_id = key
        now = self.clock.epoch()
        events = gw.lane_events(session, account_id, conversation_id)
        # A payment waiting for its task does not hold up the conversation.
        ready = [e for e in events if not (e.kind == "payment" and e.next_attempt_at > now)]
        if not ready:
            return Idle()
        head = ready[0]
        if head.next_attempt_at > now:
            return Wait(head.next_attempt_at - now)
        if head.attempts >= MAX_ATTEMPTS:
            self._give_up(session, [head], "too many attempts")
            return Again()
        if not head.is_buyer_message:
            gw.begin_attempt(session, [head.event_id])
            return Single(head)
        turn = [head]
        for item in ready[1:]:
            if not item.is_buyer_message or item.sender_id != head.sender_id:
                break
            if item.event.platform != head.event.platform:
                break  # the same account and chat id on another platform is another chat
            if item.next_attempt_at > now:
                break
            turn.append(item)
        newest = max(e.received_epoch for e in turn)
        oldest = min(e.received_epoch for e in turn)
        if self.burst_window > 0:
            quiet_for = now - newest
            open_for = now - oldest
            limit = self.burst_window * BURST_MAX_WAIT_FACTOR
            if quiet_for < self.burst_window and open_for < limit:
                return Wait(min(self.burst_window - quiet_for, limit - open_for) + 0.005)
        gw.begin_attempt(session, [e.event_id for e in turn])
        return Turn(events=turn, paused_until=self._open_chat(session, head))

    def _open_chat(self, session: Session, head: gw.InboxEvent) -> float | None:
        """Open the turn's conversation (whatever the handler); the end of its pause, if any.

        The conversation row is the only pause (人工接管): staff in the console, the API and a
        seller typing in the platform's app all write it there, and this is where lanes read it.
        """
        conv = _open_conversation(session, self.clock, head)
        if conv is None:
            # The handler meets the same refusal, and the turn fails and is given up as any other.
            return None
        return conv.takeover_until if conversations.is_paused(conv, self.clock) else None

    def _give_up(self, session: Session, events: list[gw.InboxEvent], why: str) -> None:
        ids = [e.event_id for e in events]
        gw.finish_events(session, self.clock, ids, outcome=f"gave_up: {why}", status=FAILED)
        self.stats.given_up += len(ids)
        first = events[0]
        log.warning("gateway: gave up events %s (%s)", ids, why)
        if first.is_buyer_message and first.sender_id:
            self._queue(
                session,
                first,
                [
                    Reply(
                        self._command_id("apology", first.event_id),
                        first.sender_id,
                        OutboundMessage(text=APOLOGY),
                    )
                ],
            )

    # ------------------------------------------------------------------ turns
    async def _run_turn(self, turn: Turn) -> None:
        self.stats.turns += 1
        message = turn.message()
        if turn.paused_until is not None:
            # A human has the conversation: the AI stays quiet; the words are kept for staff.
            await self._finish(
                turn.events,
                "ai_paused_manual_takeover",
                [],
                before=lambda s: self._record_paused_turn(s, turn),
            )
            return
        # A turn may answer before it ends (a picture waiting for its analysis): such messages
        # are queued at once, with command ids from the turn's first event (sent once).
        interim_count = 0

        async def interim_send(out: OutboundMessage) -> None:
            nonlocal interim_count
            cid = self._command_id("interim", turn.first.event_id, str(interim_count))
            interim_count += 1
            reply = Reply(cid, turn.first.sender_id or "", out)
            await asyncio.to_thread(
                self.db.run_write, lambda s: self._queue(s, turn.first, [reply])
            )
            self._notify_outbox()

        token = interim.bind(interim_send)
        try:
            outbound = await asyncio.wait_for(
                self.handler.handle(message), timeout=HANDLER_TIMEOUT_SECONDS
            )
        except (AicsError, TimeoutError, OSError, ValueError, RuntimeError, LookupError) as exc:
            # The handler boundary: a failed turn is retried with backoff, then given up with a
            # polite message; the lane goes on with the next events either way.
            self.stats.handler_errors += 1
            log.warning("gateway: handler failed on %s: %r", turn.event_ids, exc)
            await asyncio.to_thread(
                self._failed_attempt, turn.events, f"{type(exc).__name__}: {exc}"
            )
            return
        finally:
            interim.unbind(token)
        to = turn.first.sender_id or ""
        replies = [
            Reply(self._command_id("reply", turn.first.event_id, str(i)), to, o)
            for i, o in enumerate(outbound)
        ]
        await self._finish(turn.events, f"turn: {len(replies)} replies", replies)

    async def _finish(
        self,
        events: list[gw.InboxEvent],
        outcome: str,
        replies: list[Reply],
        *,
        before: Callable[[Session], None] | None = None,
    ) -> None:
        first = events[0]
        event_ids = [e.event_id for e in events]

        def run(session: Session) -> None:
            if before is not None:
                before(session)
            moved = gw.finish_events(
                session, self.clock, event_ids, outcome=outcome, turn_id=first.event_id
            )
            if moved != len(event_ids):
                raise _AlreadyProcessed(event_ids)
            self._queue(session, first, replies)

        try:
            await asyncio.to_thread(self.db.run_write, run)
        except _AlreadyProcessed:
            log.info("gateway: events %s were processed meanwhile; replies dropped", event_ids)
            return
        except (SQLAlchemyError, AicsError) as exc:
            # Nothing of this step committed: the turn runs again (the same reply command ids).
            log.warning("gateway: finishing %s failed: %r", event_ids, exc)
            await asyncio.to_thread(self._failed_attempt, events, f"finish: {exc}")
            return
        if replies:
            self._notify_outbox()

    def _failed_attempt(
        self, events: list[gw.InboxEvent], error: str, *, retry_now: bool = False
    ) -> None:
        attempts = max(e.attempts for e in events) + 1

        def run(session: Session) -> None:
            if attempts >= MAX_ATTEMPTS:
                self._give_up(session, events, error)
                return
            delay = 0.0 if retry_now else retry_delay(attempts)
            gw.defer_events(
                session, [e.event_id for e in events], self.clock.epoch() + delay, error=error
            )

        self.db.run_write(run)
        if attempts >= MAX_ATTEMPTS:
            self._notify_outbox()

    # ------------------------------------------------------------------ single events
    def _run_single(self, item: gw.InboxEvent) -> None:
        self.stats.singles += 1
        try:
            queued = self.db.run_write(lambda s: self._single(s, item))
        except _AlreadyProcessed:
            log.info("gateway: event %s was processed meanwhile", item.event_id)
            return
        except SQLAlchemyError as exc:
            log.warning("gateway: event %s failed: %s", item.event_id, exc)
            self._failed_attempt([item], f"database: {type(exc).__name__}")
            return
        except AicsError as exc:
            log.warning("gateway: event %s failed: %s", item.event_id, exc.message)
            self._failed_attempt([item], f"{exc.code}: {exc.message}")
            return
        if queued:
            self._notify_outbox()

    def _single(self, session: Session, item: gw.InboxEvent) -> bool:
        ev = item.event
        if ev.kind == "payment":
            paid = self._payment(session, item)
            if paid is None:
                return False  # rescheduled; the deferral commits with this transaction
            outcome, replies = paid
        elif ev.kind == "order_status":
            outcome, replies = self._order_status(session, item)
        elif ev.kind == "message" and ev.sender.role == "seller":
            outcome, replies = self._seller_message(session, item)
        else:
            outcome, replies = f"recorded: {ev.kind}/{ev.sender.role}", []
        moved = gw.finish_events(
            session, self.clock, [item.event_id], outcome=outcome, turn_id=item.event_id
        )
        if moved != 1:
            raise _AlreadyProcessed([item.event_id])
        self._queue(session, item, replies)
        return bool(replies)

    def _payment(self, session: Session, item: gw.InboxEvent) -> tuple[str, list[Reply]] | None:
        ev = item.event
        order = ev.order
        customer = ev.sender.id
        if order is None:
            return "payment_without_order", []
        shop = _shop(ev)
        seen = tasks.existing_payment(session, order.id, **shop)
        has_pending = tasks.has_payable_task(session, customer, **shop)
        now = self.clock.epoch()
        waited = now - item.received_epoch
        if seen is None and not has_pending and waited < PAYMENT_HOLD_SECONDS:
            # The payment came before the task it pays for (events can arrive out of order):
            # wait for the task instead of recording an unmatched payment for good.
            delay = min(30.0, max(1.0, waited / 2))
            gw.defer_events(session, [item.event_id], now + delay, refund_attempt=True)
            return None
        try:
            # A savepoint: a payment refused half-way leaves nothing of itself behind.
            with session.begin_nested():
                result = orders.apply_payment(
                    session,
                    self.clock,
                    self.workflow.queue,
                    customer_id=customer,
                    payment_id=order.id,
                    amount_fen=order.amount_fen,
                    **shop,
                )
        except AicsError as exc:
            # The payment is not applied (a conflicting payment id, a bad amount): nothing in
            # this transaction changed a task, so flag it for staff and tell the customer.
            self._needs_human(session, ev, f"付款需核对：{order.id}（{exc.code}）")
            text = "您的付款信息我们已记录，客服会尽快核对，请放心。"
            return f"payment_error: {exc.code}", [self._reply(item, "pay", order.id, text)]
        task = result.order
        task_id = task.task_id if task is not None else ""
        text = wording.payment_received(
            result.outcome,
            task_id,
            order.amount_fen,
            price_fen=task.price_fen if task is not None else None,
            status=task.status if task is not None else "",
        )
        outcome = f"payment: {result.outcome} {task_id}".strip()
        if result.duplicate:
            outcome += " (payment id seen before)"
        elif result.outcome != wording.PAYMENT_APPLIED:
            # For review: staff see the conversation flagged, with the reason, in the console.
            paid = "?" if order.amount_fen is None else yuan_fixed(order.amount_fen)
            self._needs_human(session, ev, f"付款需核对：{order.id} {paid} 元（{result.outcome}）")
        return outcome, [self._reply(item, "pay", order.id, text)]

    def _needs_human(self, session: Session, ev: GatewayEvent, reason: str) -> None:
        conv = _conversation_of(session, ev)
        if conv is None:
            return
        conversations.mark_needs_human(session, self.clock, conv.conversation_id, reason)

    def _order_status(self, session: Session, item: gw.InboxEvent) -> tuple[str, list[Reply]]:
        ev = item.event
        order = ev.order
        if order is None:
            return "order_status_without_order", []
        status = (order.status or "").strip().lower()
        # The order id means something only in the event's own shop: a refund or close from
        # another account or platform never finds this shop's payment or task.
        shop = _shop(ev)
        if status in REFUND_STATUSES:
            refunded = self._platform_change(
                session, "refund", orders.refund_platform_order, order.id, shop
            )
            if isinstance(refunded, str):
                return refunded, []
            text = f"订单 {refunded.task_id} 的退款已处理，处理已停止。如有需要随时找我～"
            return f"refunded: {refunded.task_id}", [self._reply(item, "refund", order.id, text)]
        if status in CLOSE_STATUSES:
            try:
                closed = orders.close_platform_order(
                    session,
                    self.clock,
                    order_id=order.id,
                    customer_id=ev.sender.id,
                    amount_fen=order.amount_fen,
                    **shop,
                )
            except AicsError as exc:
                return f"close_not_applied: order {order.id} ({exc.code})", []
            if closed.paid_task_id is not None:
                return f"close_ignored_paid: {closed.paid_task_id}", []
            if closed.order is None:
                return f"close_unmatched: order {order.id}", []
            return f"cancelled: {closed.order.task_id}", []
        if status in CONFIRM_STATUSES:
            confirmed = self._platform_change(
                session, "confirm", orders.confirm_platform_order, order.id, shop
            )
            if isinstance(confirmed, str):
                return confirmed, []
            return f"confirmed: {confirmed.task_id}", []
        return f"order_status_recorded: {status or 'unknown'}", []

    def _platform_change(
        self,
        session: Session,
        verb: str,
        change: Callable[..., Order | None],
        order_id: str,
        shop: dict[str, str],
    ) -> Order | str:
        """Apply a refund or a confirmation the platform reported to the order's task.

        The order it changed, or the outcome saying why nothing changed: the change failed
        (``<verb>_not_applied``) or the shop knows no payment of that order (``<verb>_unmatched``).
        """
        try:
            changed = change(session, self.clock, order_id, **shop)
        except AicsError as exc:
            return f"{verb}_not_applied: order {order_id} ({exc.code})"
        return f"{verb}_unmatched: order {order_id}" if changed is None else changed

    def _seller_message(self, session: Session, item: gw.InboxEvent) -> tuple[str, list[Reply]]:
        ev = item.event
        body = ev.message
        text = body.text if body else ""
        # A §7 send has no message id, so a plain gateway's echo of our reply is known only by
        # its text. A gateway that recognised its own sends by id (the marketplace bridges) says
        # so, and then a person typing the bot's very words is a person: no text guessing.
        echoes_filtered = (ev.model_extra or {}).get("echoes_filtered") is True
        if (
            text
            and not echoes_filtered
            and gw.sent_recently(session, ev.account_id, ev.conversation_id, text)
        ):
            return "seller_echo_of_our_reply", []
        by = ev.sender.nick or ev.sender.id
        conv = _conversation_of(session, ev)
        if conv is None:
            # No buyer has written in this chat yet, so there is no conversation to pause; the
            # words are kept in the inbox for staff.
            return "seller_message_before_any_buyer", []
        state = conversations.seller_wrote(
            session,
            self.clock,
            conv.conversation_id,
            text=text,
            attachments=_attachments(ev),
            author=by,
            event_ids=[item.event_id],
            minutes=self.takeover_minutes,
        )
        return f"manual_takeover_until: {state.get('takeover_until')}", []

    def _record_paused_turn(self, session: Session, turn: Turn) -> None:
        """Keep what the customer wrote during a takeover where staff read the conversation."""
        conv = _conversation_of(session, turn.first.event)
        if conv is None:
            return
        conversations.record_inbound(session, self.clock, conv.conversation_id, turn.message())

    # ------------------------------------------------------------------ helpers
    def _command_id(self, purpose: str, *parts: str) -> str:
        return f"{purpose}-{gw.short_digest(purpose, *parts)}"

    def _reply(self, item: gw.InboxEvent, purpose: str, key: str, text: str) -> Reply:
        ev = item.event
        # Keyed by the order id, not the event id: the same payment announced twice under two
        # event ids is answered once.
        cid = self._command_id(purpose, ev.platform or "", ev.account_id, key)
        return Reply(cid, ev.sender.id, OutboundMessage(text=text))

    def _queue(self, session: Session, item: gw.InboxEvent, replies: list[Reply]) -> None:
        """Send the replies through the chat's conversation outbox (transcript + send outbox)."""
        if not replies:
            return
        conv = self._chat_for_replies(session, item)
        for reply in replies:
            if conv is not None and conv.customer_id == reply.to:
                conversations.send_to_customer(
                    session,
                    self.clock,
                    conv.conversation_id,
                    reply.message,
                    role=conversations.Role.AI,
                    command_id=reply.command_id,
                )
                continue
            # No conversation can hold it (an event without a platform, a chat id another
            # customer's conversation has): it still reaches the customer, untranscribed.
            log.warning("gateway: reply %s sent outside any transcript", reply.command_id)
            gw.queue_send(
                session,
                self.clock,
                account_id=item.account_id,
                conversation_id=item.conversation_id,
                to=reply.to,
                message=reply.message.wire(),
                command_id=reply.command_id,
            )

    def _chat_for_replies(self, session: Session, item: gw.InboxEvent) -> Conversation | None:
        """The event's conversation, opened for its buyer if none yet (a payment may come first)."""
        conv = _conversation_of(session, item.event)
        if conv is not None or item.event.sender.role != "buyer":
            return conv
        return _open_conversation(session, self.clock, item)

    def _notify_outbox(self) -> None:
        if self.on_outbox is not None:
            self.on_outbox()

    async def idle(self, timeout: float = 10.0) -> bool:
        """Wait until no lane runs and nothing is due (tests, the demo); False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if not self._lanes:
                due = await asyncio.to_thread(self._lanes_due)
                if not due and not self._lanes:
                    return True
                self.wake()
            await asyncio.sleep(0.05)
        return False


def _log_lane_failure(task: asyncio.Task[None]) -> None:
    """Log a lane that died of a bug.

    Its event was counted as an attempt before it ran, so the next lane retries it and gives it
    up after :data:`MAX_ATTEMPTS`.
    """
    if not task.cancelled() and task.exception() is not None:
        log.error("gateway: %s failed", task.get_name(), exc_info=task.exception())


def _shop(ev: GatewayEvent) -> dict[str, str]:
    """The shop an event came from, as the task services' scope arguments."""
    return {"platform": ev.platform or "", "account_id": ev.account_id}


def _open_conversation(session: Session, clock: Clock, item: gw.InboxEvent) -> Conversation | None:
    """The conversation of a buyer's event, created on first use.

    ``None`` when it cannot be: an event without a platform, a chat id another customer's
    conversation has.
    """
    ev = item.event
    try:
        with session.begin_nested():
            return conversations.open_conversation(
                session,
                clock,
                conversation_id=ev.conversation_id,
                platform=ev.platform or "",
                account_id=ev.account_id,
                customer_id=ev.sender.id,
                customer_nick=ev.sender.nick,
            )
    except AicsError as exc:
        log.info("gateway: chat of %s not opened: %s", item.event_id, exc.code)
        return None


def _conversation_of(session: Session, ev: GatewayEvent) -> Conversation | None:
    """The event's conversation: its chat in its own shop account on its own platform."""
    return conversations.find_conversation(
        session,
        platform=ev.platform or "",
        account_id=ev.account_id,
        chat_id=ev.conversation_id,
    )


def _attachments(ev: GatewayEvent) -> tuple[Attachment, ...]:
    if ev.message is None:
        return ()
    return tuple(
        Attachment(url=a.url, width=a.width, height=a.height) for a in ev.message.attachments
    )


class _AlreadyProcessed(Exception):
    """The compare-and-set found the events no longer ``received``: roll back."""

    def __init__(self, event_ids: list[str]) -> None:
        super().__init__(", ".join(event_ids))


__all__ = ["MAX_ATTEMPTS", "EventProcessor", "GatewayStats"]
