"""``AgentHandler``: the :class:`~ai_cs.conversations.contracts.MessageHandler` of the shop.

One customer turn: store the message, stay quiet while staff have the conversation (manual
takeover), run the agent with the conversation's memory, store the reply and the new memory.
Construct it with a :class:`~ai_cs.workflow.Workflow`::

    handler = AgentHandler(workflow)                      # gateway: pictures are http(s) URLs
    handler = AgentHandler(workflow, allow_local_files=True, ocr=StaticOcr())   # CLI, tests
    replies = await handler.handle(inbound_message)

The gateway finds it through :func:`create_message_handler`.
"""

from __future__ import annotations

import asyncio
import re
import weakref
from typing import TYPE_CHECKING, Final

from pydantic_ai.messages import ModelMessage
from sqlalchemy.orm import Session

from ai_cs.agent.agent import TurnOutcome, run_turn
from ai_cs.agent.deps import ShopDeps
from ai_cs.agent.phrases import PICTURE_MARKER
from ai_cs.config import Settings
from ai_cs.conversations import service
from ai_cs.conversations.contracts import InboundMessage, OutboundMessage
from ai_cs.conversations.interim import send_interim
from ai_cs.conversations.service import Direction, Role

if TYPE_CHECKING:
    from ai_cs.imaging.ocr import OcrEngine
    from ai_cs.workflow import Workflow

PICTURE_ACK: Final = "收到图片，正在看～"
"""Sent at once when a picture's quote will take more than a moment (AICS_PICTURE_JOBS)."""

_FAKE_MARKER: Final = re.compile(rf"^\s*{re.escape(PICTURE_MARKER)}.*$", re.MULTILINE)


def build_prompt(message: InboundMessage) -> str:
    """The customer's words plus a line saying how many pictures came with them.

    A customer who types the marker line themselves gets it removed: only the server says
    whether a picture arrived.
    """
    text = _FAKE_MARKER.sub("", message.text or "").strip()
    if message.attachments:
        marker = f"{PICTURE_MARKER} ×{len(message.attachments)}]"
        text = f"{text}\n{marker}" if text else marker
    return text


class AgentHandler:
    """Answers customer turns with the agent, remembering each conversation across restarts."""

    def __init__(
        self,
        workflow: Workflow,
        *,
        settings: Settings | None = None,
        ocr: OcrEngine | None = None,
        allow_local_files: bool = False,
    ) -> None:
        self.workflow = workflow
        self.settings = settings or workflow.settings
        self.ocr = ocr
        self.allow_local_files = allow_local_files
        # One turn at a time per chat, so two turns never overwrite each other's memory.
        self._locks: weakref.WeakValueDictionary[tuple[str, str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        # Pictures the workers did not analyse in time are analysed in this process, one turn
        # at a time: the OCR is serialised anyway, and each waiting tool would hold a thread.
        self._analysing_here = asyncio.Semaphore(1)

    def _lock(self, message: InboundMessage) -> asyncio.Lock:
        key = (message.platform, message.account_id, message.conversation_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    async def handle(self, message: InboundMessage) -> list[OutboundMessage]:
        """The replies to one turn ([] while staff have taken the conversation over)."""
        if not (message.text or "").strip() and not message.attachments:
            return []
        sources = self._picture_sources(message)
        behind_others: bool | None = False
        if sources:
            # Queued before the lane's lock: the workers start on every picture at once.
            behind_others = await asyncio.to_thread(self._request_analyses, sources)
            if behind_others is None:
                sources = []  # no worker alive: the turn analyses the pictures itself
        lock = self._lock(message)
        async with lock:
            conversation_id, history = await asyncio.to_thread(self._receive, message)
            if history is None:
                return []
            here = await self._await_pictures(sources, behind_others) if sources else False
            try:
                return await self._answer(message, conversation_id, history, sources)
            finally:
                if here:
                    self._analysing_here.release()

    async def _answer(
        self,
        message: InboundMessage,
        conversation_id: str,
        history: list[ModelMessage],
        awaited: list[str],
    ) -> list[OutboundMessage]:
        """Run the agent on the stored turn and store its memory; the replies."""
        deps = ShopDeps(
            platform=message.platform,
            account_id=message.account_id,
            customer_id=message.customer_id,
            conversation_id=conversation_id,
            workflow=self.workflow,
            settings=self.settings,
            customer_nick=message.customer_nick,
            pictures=tuple(message.attachments),
            turn_text=(message.text or "").strip(),
            ocr=self.ocr,
            allow_local_files=self.allow_local_files,
            awaited_pictures=frozenset(awaited),
        )
        try:
            outcome = await run_turn(deps, build_prompt(message), history)
        except asyncio.CancelledError:
            deps.cancelled.set()  # a tool thread that outlives the turn opens no order
            raise
        replies = [OutboundMessage(text=outcome.reply)] if outcome.reply.strip() else []
        # A turn from marketplace events is answered through the conversation outbox, which
        # records each reply in the transcript as it queues it; a local turn (command-line
        # chat, assist mode, evaluation) has no outbox, so its replies are recorded here.
        recorded = [] if message.event_ids else replies
        await asyncio.to_thread(self._store, conversation_id, outcome, recorded)
        return replies

    async def _await_pictures(self, sources: list[str], behind_others: bool | None) -> bool:
        """Wait, on the event loop, for the workers to analyse the turn's pictures.

        A quoting tool waiting in its thread would hold one of the threads (AnyIO's limiter)
        that every turn's tools share, so the turn waits here instead and the tool finds the
        results stored. The customer is told at once when the quote will take a moment.
        True when the workers did not answer within ``picture_job_wait_seconds`` and the turn
        holds this process's one local-analysis slot: the pictures are then analysed here, one
        turn at a time (each would otherwise hold a tool thread), unless a worker's result
        arrives while the turn waits for the slot.
        """
        from ai_cs.processing.pictures import POLL_SECONDS

        # Pictures waiting before this one: no quote within the second, say so at once.
        if behind_others or not await self._analysed(
            sources, self.settings.picture_ack_after_seconds
        ):
            await self._acknowledge_picture()
            if await self._analysed(sources, self.settings.picture_job_wait_seconds):
                return False
            while not self._all_stored(sources):
                if not self._analysing_here.locked():
                    await self._analysing_here.acquire()  # free: returns at once
                    return True
                await asyncio.sleep(POLL_SECONDS)
        return False

    def _picture_sources(self, message: InboundMessage) -> list[str]:
        """The turn's pictures to analyse as jobs (AICS_PICTURE_JOBS; URLs the agent accepts)."""
        if not self.settings.picture_jobs:
            return []
        urls = [a.url.strip() for a in message.attachments if a.url and a.url.strip()]
        if self.allow_local_files:
            return urls
        return [u for u in urls if u.lower().startswith(("http://", "https://"))]

    def _request_analyses(self, sources: list[str]) -> bool | None:
        """Queue the pictures' jobs; True when other pictures wait for a worker before them.

        ``None`` (nothing queued) while no worker is alive: the turn analyses the pictures itself.
        """
        from ai_cs.processing.pictures import analyses_waiting, request_analyses, workers_alive

        db, queue = self.workflow.db, self.workflow.queue
        if not workers_alive(db):
            return None
        queued = request_analyses(db, queue, self.settings, sources)
        return queued > 0 and analyses_waiting(db, queue) > queued

    async def _analysed(self, sources: list[str], seconds: float) -> bool:
        """Whether every picture's analysis is back within ``seconds`` (no thread held)."""
        from ai_cs.processing.pictures import POLL_SECONDS

        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            if self._all_stored(sources):
                return True
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(POLL_SECONDS)

    def _all_stored(self, sources: list[str]) -> bool:
        from ai_cs.processing.pictures import result_path

        return all(result_path(self.settings.data_dir, s).exists() for s in sources)

    async def _acknowledge_picture(self) -> None:
        """Tell the customer at once that the picture is being looked at (channels that can).

        The channel's sender is the conversation outbox, which records what it sends.
        """
        await send_interim(OutboundMessage(text=PICTURE_ACK))

    def _receive(self, message: InboundMessage) -> tuple[str, list[ModelMessage] | None]:
        """Store the message; our conversation id and the memory (None: the AI stays quiet).

        The chat is found by platform + shop account + chat id, so our id may differ from
        the platform's (another shop used that chat id first).
        """
        clock = self.workflow.clock

        def run(session: Session) -> tuple[str, list[ModelMessage] | None]:
            conv = service.open_conversation(
                session,
                clock,
                conversation_id=message.conversation_id,
                platform=message.platform,
                account_id=message.account_id,
                customer_id=message.customer_id,
                customer_nick=message.customer_nick,
            )
            if message.sender_role == "seller":
                # The shop's own staff wrote in the platform app: pause the AI (人工接管).
                service.seller_wrote(
                    session,
                    clock,
                    conv.conversation_id,
                    text=message.text,
                    attachments=message.attachments,
                    author=message.customer_nick or "seller",
                    event_ids=message.event_ids,
                    minutes=self.settings.takeover_minutes,
                )
                return conv.conversation_id, None
            role = Role.SYSTEM if message.sender_role == "system" else Role.CUSTOMER
            service.record_inbound(session, clock, conv.conversation_id, message, role=role)
            if role is Role.SYSTEM or service.is_paused(conv, clock):
                return conv.conversation_id, None
            return conv.conversation_id, service.load_memory(session, conv.conversation_id)

        return self.workflow.db.run_write(run)

    def _store(
        self, conversation_id: str, outcome: TurnOutcome, replies: list[OutboundMessage]
    ) -> None:
        """Save the agent's memory, and ``replies`` in the transcript (local turns only)."""
        clock = self.workflow.clock

        def run(session: Session) -> None:
            for reply in replies:
                service.record_message(
                    session,
                    clock,
                    conversation_id,
                    direction=Direction.OUT,
                    role=Role.AI,
                    text=reply.text,
                    attachments=reply.attachments,
                )
            service.save_memory(session, clock, conversation_id, outcome.messages)

        self.workflow.db.run_write(run)


def create_message_handler(workflow: Workflow) -> AgentHandler:
    """The gateway's handler factory: the agent on ``workflow``'s database and settings."""
    from ai_cs.agent.intent_model import warm_up

    warm_up()  # the gateway runs for long: the first buyer should not wait for the training
    return AgentHandler(workflow)
