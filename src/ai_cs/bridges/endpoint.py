"""The §7 side of the bridges: a gateway server on loopback that ai-cs's gateway client joins.

Why a server and not a second pipeline: the gateway client already stores every event durably
before it acks, processes it once per ``event_id`` across restarts, runs the lanes, and keeps the
send outbox with retries under the same ``command_id``. A bridge that *is* a §7 gateway gets all
of that unchanged, and `aics serve` runs it in-process simply by pointing its client here.

- :meth:`BridgeEndpoint.deliver` hands events over and returns once the client acked every one
  of them (the bridge acknowledges the marketplace's push only then). Unacked events are
  redelivered on every new connection and after a timeout, like any §7 gateway.
- ``send`` commands are routed to the account's sender by ``account_id``. ``sent`` is answered
  once the sender finished; a sender that cannot send now raises :class:`NotReady` and the
  command stays unanswered, so the client sends it again later with the same ``command_id``.
- The URL carries a random path token: another local process cannot join by guessing a port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Self

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ai_cs.marketplace.loopback import WebsocketServer
from ai_cs.marketplace.protocol import MAX_FRAME_CHARS, WireMessage

log = logging.getLogger(__name__)

REDELIVER_AFTER_SECONDS: Final = 5.0
DONE_REMEMBERED: Final = 5000
"""Command ids answered lately (a resend after a lost ``sent`` is answered at once)."""


class NotReady(Exception):
    """The account cannot send now (offline, reconnecting): leave the command unanswered."""


@dataclass(frozen=True)
class SendCommand:
    """A §7 ``send``: a message for a buyer in one conversation of one account."""

    command_id: str
    account_id: str
    conversation_id: str
    to: str
    message: WireMessage


Sender = Callable[[SendCommand], Awaitable[None]]


class BridgeEndpoint(WebsocketServer):
    """A §7 gateway server for the bridges of this process."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        redeliver_after: float = REDELIVER_AFTER_SECONDS,
    ) -> None:
        super().__init__(host=host, port=port)
        self.token = token or secrets.token_urlsafe(18)
        self.redeliver_after = redeliver_after
        self.senders: dict[str, Sender] = {}
        self._events: dict[str, dict[str, Any]] = {}
        self._acked: dict[str, asyncio.Event] = {}
        self._last_sent: dict[str, float] = {}
        self._inflight: set[str] = set()
        self._done: OrderedDict[str, None] = OrderedDict()
        self._live: list[ServerConnection] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.client_connected = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> Self:
        """Listen (port 0 picks a free one)."""
        await self._listen(
            self._connection,
            process_request=self._check_path,
            max_size=MAX_FRAME_CHARS * 4,
            ping_interval=20,
            ping_timeout=20,
        )
        self._tasks.add(asyncio.create_task(self._redeliver_loop(), name="bridge-redeliver"))
        return self

    async def stop(self) -> None:
        """Stop listening and end every connection and running send."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._stop_listening()

    @property
    def url(self) -> str:
        """What ``AICS_GATEWAY_URL`` must say to join."""
        return f"ws://{self.host}:{self.port}/{self.token}"

    def _check_path(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.split("?", 1)[0].strip("/") != self.token:
            return connection.respond(404, "no such gateway\n")
        return None

    # ------------------------------------------------------------------ events out
    async def deliver(self, events: list[dict[str, Any]], *, timeout: float) -> bool:
        """Hand ``events`` to the client; True once every one is acked, False on timeout.

        On timeout the events stay queued and are redelivered: the caller may go on (the
        marketplace wants its push acknowledged) without losing them while this process runs.
        """
        waits = []
        for event in events:
            event_id = str(event["event_id"])
            if event_id not in self._acked:
                self._events[event_id] = event
                self._acked[event_id] = asyncio.Event()
                await self._send_event(event_id)
            waits.append(self._acked[event_id].wait())
        if not waits:
            return True
        try:
            await asyncio.wait_for(asyncio.gather(*waits), timeout)
        except TimeoutError:
            return False
        return True

    @property
    def unacked(self) -> set[str]:
        """Event ids the client has not acked yet."""
        return {k for k, v in self._acked.items() if not v.is_set()}

    async def _send_event(self, event_id: str) -> None:
        if not self._live:
            return
        frame = json.dumps({"type": "event", "event": self._events[event_id]}, ensure_ascii=False)
        self._last_sent[event_id] = asyncio.get_running_loop().time()
        with contextlib.suppress(ConnectionClosed):
            await self._live[-1].send(frame)

    async def _redeliver_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(1.0, self.redeliver_after / 2))
            now = loop.time()
            for event_id in list(self.unacked):
                if now - self._last_sent.get(event_id, 0.0) >= self.redeliver_after:
                    await self._send_event(event_id)

    def _acknowledge(self, event_id: str) -> None:
        done = self._acked.get(event_id)
        if done is None:
            return
        done.set()
        # Forget the event; the waiter holds its own reference to the Event.
        self._events.pop(event_id, None)
        self._last_sent.pop(event_id, None)
        self._acked.pop(event_id, None)

    # ------------------------------------------------------------------ connections
    async def _connection(self, ws: ServerConnection) -> None:
        self._live.append(ws)
        self.client_connected.set()
        try:
            for event_id in list(self.unacked):
                await self._send_event(event_id)
            async for data in ws:
                self._frame(ws, data)
        except ConnectionClosed:
            pass
        finally:
            if ws in self._live:
                self._live.remove(ws)
            if not self._live:
                self.client_connected.clear()

    def _frame(self, ws: ServerConnection, data: str | bytes) -> None:
        try:
            obj = json.loads(data)
        except (ValueError, RecursionError):
            log.warning("bridge endpoint: a frame that is not JSON")
            return
        if not isinstance(obj, dict):
            return
        kind = obj.get("type")
        if kind == "ack":
            self._acknowledge(str(obj.get("event_id")))
        elif kind == "send":
            command = _command(obj)
            if command is None:
                log.warning("bridge endpoint: a send without usable fields was ignored")
                return
            task = asyncio.create_task(self._send(ws, command), name=f"send:{command.command_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, ws: ServerConnection, command: SendCommand) -> None:
        cid = command.command_id
        if cid in self._done:
            await _answer(ws, cid)
            return
        if cid in self._inflight:
            return  # the first copy answers when it is done
        sender = self.senders.get(command.account_id)
        if sender is None:
            log.warning("bridge endpoint: no bridge runs account %s", command.account_id)
            return
        self._inflight.add(cid)
        try:
            await sender(command)
        except NotReady as exc:
            log.info("bridge endpoint: %s not sent now (%s); the client retries", cid, exc)
            return
        finally:
            self._inflight.discard(cid)
        self._done[cid] = None
        while len(self._done) > DONE_REMEMBERED:
            self._done.popitem(last=False)
        await _answer(ws, cid)


async def _answer(ws: ServerConnection, command_id: str) -> None:
    with contextlib.suppress(ConnectionClosed):
        await ws.send(json.dumps({"type": "sent", "command_id": command_id}))


def _command(obj: dict[str, Any]) -> SendCommand | None:
    fields = [obj.get(k) for k in ("command_id", "account_id", "conversation_id", "to")]
    if not all(isinstance(f, str) and f for f in fields):
        return None
    try:
        message = WireMessage.model_validate(obj.get("message") or {})
    except ValueError:
        return None
    return SendCommand(
        command_id=str(fields[0]),
        account_id=str(fields[1]),
        conversation_id=str(fields[2]),
        to=str(fields[3]),
        message=message,
    )
