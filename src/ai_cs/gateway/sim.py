"""A marketplace gateway simulator: the development server and the test double of §7.

:class:`GatewaySimulator` is a websocket *server* speaking the gateway protocol. It plays the
marketplace side: customers write, send pictures (served by the same port over plain HTTP, so
ai-cs fetches them from loopback), pay, get refunds; the shop's own staff can write too. Like
a real gateway it redelivers every event until it is acked — on every new connection and after a
timeout — and it answers each ``send`` with ``sent``. It records everything (acks, raw sends, the
messages customers actually received, deduplicated by ``command_id`` as a marketplace would) so
tests can assert on them, and it can misbehave on purpose: duplicate events, cut the connection,
or withhold ``sent``.

``aics gateway-sim`` runs it with a scripted set of customers (:func:`play_script`).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import io
import itertools
import json
import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Self

from PIL import Image, ImageDraw, ImageFont
from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ai_cs.marketplace.loopback import Changes, WebsocketServer

log = logging.getLogger(__name__)

DEFAULT_ACCOUNT: Final = "shop-1"
DEFAULT_PLATFORM: Final = "xianyu"
REDELIVER_AFTER_SECONDS: Final = 3.0
PRICE_IN_REPLY: Final = re.compile(
    r"(?:调整为|改为|新报价|报价|总价|价格)[^0-9，。！？,.\n]{0,12}?(\d+(?:\.\d{1,2})?)\s*元"
)
"""A price the shop quoted in a reply (``报价 60.00 元``, ``价格从 45 元调整为 60 元``)."""


@dataclass(frozen=True)
class Customer:
    """A buyer in one conversation with one shop account."""

    id: str
    nick: str = "顾客"
    conversation_id: str = ""
    account_id: str = DEFAULT_ACCOUNT
    platform: str = DEFAULT_PLATFORM

    @property
    def conversation(self) -> str:
        """The conversation id (defaults to one per customer)."""
        return self.conversation_id or f"conv-{self.id}"


@dataclass
class Delivered:
    """A message a customer received (first copy of a command id)."""

    command_id: str
    account_id: str
    conversation_id: str
    to: str
    message: dict[str, Any]

    @property
    def text(self) -> str:
        """The message text."""
        return str(self.message.get("text", ""))


@dataclass
class SimRecord:
    """Everything the simulator saw."""

    acks: list[str] = field(default_factory=list)
    sends: list[dict[str, Any]] = field(default_factory=list)
    delivered: dict[str, Delivered] = field(default_factory=dict)
    pushed: list[str] = field(default_factory=list)
    frames_out: int = 0
    deliveries: Counter[str] = field(default_factory=Counter)
    """How often each event id was sent to a client (first delivery and redeliveries)."""


def demo_picture(text: str = "SALE 50%", size: tuple[int, int] = (800, 600)) -> bytes:
    """A product picture with a text label (PNG): easy to cut out, and the OCR reads the text."""
    width, height = size
    img = Image.new("RGB", size, (236, 236, 230))
    draw = ImageDraw.Draw(img)
    box = (width * 0.225, height * 0.233, width * 0.775, height * 0.8)
    draw.rounded_rectangle(box, radius=40, fill=(200, 30, 40))
    font = ImageFont.load_default(size=max(12, width // 14))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(
        ((width - (right - left)) / 2, (height - (bottom - top)) / 2 - top),
        text,
        font=font,
        fill=(255, 255, 255),
    )
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def blank_picture(size: tuple[int, int] = (400, 300)) -> bytes:
    """A featureless grey picture: no engine can cut a subject out of it (a failing job)."""
    out = io.BytesIO()
    Image.new("RGB", size, (128, 128, 128)).save(out, format="PNG")
    return out.getvalue()


class GatewaySimulator(WebsocketServer):
    """A gateway server on loopback that plays the marketplace."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        redeliver_after: float = REDELIVER_AFTER_SECONDS,
        answer_sent: bool = True,
        on_delivered: Callable[[Delivered], None] | None = None,
        first_event_id: int = 1,
    ) -> None:
        super().__init__(host=host, port=port)
        self.redeliver_after = redeliver_after
        self.answer_sent = answer_sent
        self.on_delivered = on_delivered
        self.record = SimRecord()
        self.connections = 0
        self._events: dict[str, dict[str, Any] | str] = {}
        self._unacked: dict[str, float] = {}  # event id → when it was last sent
        self._pictures: dict[str, tuple[bytes, str]] = {}
        self._live: list[ServerConnection] = []
        self._frozen: list[ServerConnection] = []
        # A second simulator on the same database starts its event ids past the first's.
        self._ids = itertools.count(first_event_id)
        self._changes = Changes()
        self._redeliverer: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> Self:
        """Listen (port 0 picks a free one)."""
        await self._listen(
            self._connection,
            process_request=self._http,
            ping_interval=None,
            max_size=4 * 1024 * 1024,
        )
        self._redeliverer = asyncio.create_task(self._redeliver_loop())
        return self

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        if self._redeliverer is not None:
            self._redeliverer.cancel()
            await asyncio.gather(self._redeliverer, return_exceptions=True)
        for ws in self._frozen:
            ws.transport.abort()  # a hung connection never finishes a closing handshake
        await self._stop_listening()

    @property
    def url(self) -> str:
        """The websocket URL clients connect to."""
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def http_base(self) -> str:
        """Base URL of the picture server (same port)."""
        return f"http://{self.host}:{self.port}"

    @property
    def live_connections(self) -> int:
        """Connections open now."""
        return len(self._live)

    # ------------------------------------------------------------------ pictures over HTTP
    def add_picture(self, name: str, data: bytes, content_type: str = "image/png") -> str:
        """Serve ``data`` at ``/pictures/<name>``; returns its URL."""
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,80}", name):
            raise ValueError(f"bad picture name {name!r}")
        self._pictures[name] = (data, content_type)
        return f"{self.http_base}/pictures/{name}"

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        if "upgrade" in request.headers.get("Connection", "").lower():
            return None  # a websocket handshake: go on
        name = request.path.split("?", 1)[0].removeprefix("/pictures/")
        found = self._pictures.get(name)
        if found is None:
            return connection.respond(404, "no such picture\n")
        body, content_type = found
        headers = Headers(
            [
                ("Date", email.utils.formatdate(usegmt=True)),
                ("Connection", "close"),
                ("Content-Length", str(len(body))),
                ("Content-Type", content_type),
            ]
        )
        return Response(200, "OK", headers, body)

    # ------------------------------------------------------------------ events in
    def _event(self, kind: str, customer: Customer, role: str, **body: Any) -> dict[str, Any]:
        event_id = f"ev-{next(self._ids):06d}"
        return {
            "event_id": event_id,
            "kind": kind,
            "platform": customer.platform,
            "account_id": customer.account_id,
            "conversation_id": customer.conversation,
            "sender": {
                "id": customer.id if role == "buyer" else f"staff-{customer.account_id}",
                "nick": customer.nick if role == "buyer" else "店主",
                "role": role,
            },
            "occurred_at": datetime.now(UTC).isoformat(),
            **body,
        }

    async def push(self, event: dict[str, Any], *, duplicates: int = 1) -> str:
        """Deliver an event (``duplicates`` copies at once) and keep it until acked."""
        event_id = str(event["event_id"])
        self._events[event_id] = event
        self._unacked[event_id] = asyncio.get_running_loop().time()
        self.record.pushed.append(event_id)
        for _ in range(max(1, duplicates)):
            await self._deliver(event)
        return event_id

    async def push_frame(self, event_id: str, frame: str) -> str:
        """Deliver a raw text frame standing for ``event_id`` (a hostile or broken gateway).

        Redelivered like any event until ``event_id`` is acked.
        """
        self._events[event_id] = frame
        self._unacked[event_id] = asyncio.get_running_loop().time()
        self.record.pushed.append(event_id)
        await self._deliver(frame)
        return event_id

    async def redeliver(self, event_id: str, *, copies: int = 1) -> None:
        """Send a known event again, acked or not (as a gateway does when an ack got lost)."""
        event = self._events[event_id]
        for _ in range(max(1, copies)):
            await self._deliver(event)

    async def _message(
        self,
        customer: Customer,
        role: str,
        text: str,
        attachments: list[dict[str, Any]] | None = None,
        *,
        duplicates: int = 1,
    ) -> str:
        """A chat message in ``customer``'s conversation: a picture message if it has any."""
        message = {
            "kind": "image" if attachments else "text",
            "text": text,
            "attachments": attachments or [],
        }
        event = self._event("message", customer, role, message=message)
        return await self.push(event, duplicates=duplicates)

    async def _order(
        self,
        kind: str,
        customer: Customer,
        order_id: str,
        status: str,
        amount_fen: int | None,
        *,
        duplicates: int = 1,
    ) -> str:
        order = {"id": order_id, "amount_fen": amount_fen, "status": status}
        return await self.push(
            self._event(kind, customer, "buyer", order=order), duplicates=duplicates
        )

    async def say(self, customer: Customer, text: str, *, duplicates: int = 1) -> str:
        """The customer writes ``text``."""
        return await self._message(customer, "buyer", text, duplicates=duplicates)

    async def send_picture(
        self,
        customer: Customer,
        url: str,
        *,
        text: str = "",
        width: int | None = None,
        height: int | None = None,
        duplicates: int = 1,
    ) -> str:
        """The customer sends a picture (with optional words)."""
        picture = {"url": url, "width": width, "height": height}
        return await self._message(customer, "buyer", text, [picture], duplicates=duplicates)

    async def pay(
        self,
        customer: Customer,
        order_id: str,
        amount_fen: int | None,
        *,
        duplicates: int = 1,
    ) -> str:
        """The platform reports the customer's payment of ``order_id``."""
        return await self._order(
            "payment", customer, order_id, "paid", amount_fen, duplicates=duplicates
        )

    async def order_status(
        self, customer: Customer, order_id: str, status: str, amount_fen: int | None = None
    ) -> str:
        """The platform reports an order change (``refunded``, ``closed`` …)."""
        return await self._order("order_status", customer, order_id, status, amount_fen)

    async def seller_says(self, customer: Customer, text: str) -> str:
        """The shop's own staff write in the customer's conversation (manual takeover)."""
        return await self._message(customer, "seller", text)

    async def _deliver(self, event: dict[str, Any] | str) -> None:
        if not self._live:
            return  # delivered when a client connects
        ws = self._live[-1]
        frame = self._encode(event)
        if isinstance(event, str):
            event_id = next(k for k, v in self._events.items() if v is event)
        else:
            event_id = str(event.get("event_id"))
        with contextlib.suppress(ConnectionClosed):
            await ws.send(frame)
            self.record.frames_out += 1
            self.record.deliveries[event_id] += 1

    @staticmethod
    def _encode(event: dict[str, Any] | str) -> str:
        if isinstance(event, str):
            return event  # a raw frame, as pushed
        return json.dumps({"type": "event", "event": event}, ensure_ascii=False)

    async def _redeliver_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(1.0, self.redeliver_after / 2))
            now = loop.time()
            for event_id, last in list(self._unacked.items()):
                if now - last >= self.redeliver_after and self._live:
                    self._unacked[event_id] = now
                    await self._deliver(self._events[event_id])

    # ------------------------------------------------------------------ connections
    async def _connection(self, ws: ServerConnection) -> None:
        self.connections += 1
        self._live.append(ws)
        try:
            loop = asyncio.get_running_loop()
            for event_id in list(self._unacked):
                self._unacked[event_id] = loop.time()
                await ws.send(self._encode(self._events[event_id]))
                self.record.frames_out += 1
                self.record.deliveries[event_id] += 1
            async for data in ws:
                await self._frame(ws, data)
        except ConnectionClosed:
            pass
        finally:
            if ws in self._live:
                self._live.remove(ws)

    async def _frame(self, ws: ServerConnection, data: str | bytes) -> None:
        try:
            obj = json.loads(data)
        except ValueError:
            log.warning("sim: a frame that is not JSON")
            return
        kind = obj.get("type")
        if kind == "ack":
            event_id = str(obj.get("event_id"))
            self.record.acks.append(event_id)
            self._unacked.pop(event_id, None)
        elif kind == "send":
            self.record.sends.append(obj)
            command_id = str(obj.get("command_id"))
            if command_id not in self.record.delivered:
                item = Delivered(
                    command_id=command_id,
                    account_id=str(obj.get("account_id")),
                    conversation_id=str(obj.get("conversation_id")),
                    to=str(obj.get("to")),
                    message=dict(obj.get("message") or {}),
                )
                self.record.delivered[command_id] = item
                if self.on_delivered is not None:
                    self.on_delivered(item)
            if self.answer_sent:
                with contextlib.suppress(ConnectionClosed):
                    await ws.send(json.dumps({"type": "sent", "command_id": command_id}))
        await self._changes.notify()

    async def disconnect(self, *, abrupt: bool = True) -> None:
        """Cut every open connection (abruptly: no close handshake, like a network failure)."""
        for ws in list(self._live):
            if abrupt:
                ws.transport.abort()
            else:
                await ws.close(1012, "gateway restarting")
        self._live.clear()

    def freeze(self) -> None:
        """Stop reading from every open connection without closing it: a hung gateway.

        Pings go unanswered, so a client with a liveness timeout drops the connection and
        reconnects; new events go to the new connection.
        """
        for ws in list(self._live):
            ws.transport.pause_reading()
            self._frozen.append(ws)
        self._live.clear()

    # ------------------------------------------------------------------ what happened
    @property
    def unacked(self) -> set[str]:
        """Event ids still waiting for an ack."""
        return set(self._unacked)

    def messages_to(self, customer: Customer) -> list[Delivered]:
        """What the customer received, in order."""
        return [
            d
            for d in self.record.delivered.values()
            if d.conversation_id == customer.conversation and d.to == customer.id
        ]

    def quoted_fen(self, customer: Customer) -> int | None:
        """The last price the shop told the customer (``… 60.00 元``), in fen."""
        for item in reversed(self.messages_to(customer)):
            found = PRICE_IN_REPLY.findall(item.text)
            if found:
                return round(float(found[-1]) * 100)
        return None

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Wait until ``predicate()`` holds (checked on every frame and every 50 ms)."""
        return await self._changes.until(predicate, timeout)

    async def wait_for_replies(self, customer: Customer, count: int, timeout: float = 10.0) -> bool:
        """Wait until the customer received at least ``count`` messages."""
        return await self.wait_for(lambda: len(self.messages_to(customer)) >= count, timeout)


# --- scripted customers ---------------------------------------------------------------------------
SCRIPTS: Final = ("shop", "burst", "chaos")


async def play_script(
    sim: GatewaySimulator,
    script: str = "shop",
    *,
    customers: int = 3,
    echo: Callable[[str], None] = print,
    reply_timeout: float = 30.0,
) -> None:
    """Play scripted customers against whatever client connects to ``sim``.

    ``shop``: each customer sends a picture with text, adds a note, changes the operation and
    pays (the payment event delivered three times). ``burst``: three quick messages per customer
    that should make one turn. ``chaos``: the shop script with duplicated events and a cut
    connection in the middle.
    """
    if script not in SCRIPTS:
        raise ValueError(f"unknown script {script!r}; choose one of {SCRIPTS}")
    picture = sim.add_picture("product.png", demo_picture())
    people = [Customer(id=f"buyer-{i + 1}", nick=f"顾客{i + 1}") for i in range(customers)]
    dup = 3 if script == "chaos" else 1

    async def expect(person: Customer, count: int) -> None:
        if not await sim.wait_for_replies(person, count, timeout=reply_timeout):
            echo(f"  {person.id}: no reply yet (have {len(sim.messages_to(person))})")

    async def one(person: Customer, index: int) -> None:
        if script == "burst":
            for text in ("在吗", "想做个图", "能抠图吗"):
                await sim.say(person, text, duplicates=dup)
            await expect(person, 1)
            return
        await sim.send_picture(
            person, picture, text="帮我抠图", width=800, height=600, duplicates=dup
        )
        await expect(person, 1)
        await sim.say(person, "对了，要高清一点", duplicates=dup)
        await expect(person, 2)
        if script == "chaos" and index == 0:
            echo("  -- cutting the connection --")
            await sim.disconnect()
        await sim.say(person, "改成要分层文件", duplicates=dup)
        await expect(person, 3)
        await sim.pay(person, f"order-{person.id}", sim.quoted_fen(person), duplicates=3)
        await expect(person, 4)

    await asyncio.gather(*(one(p, i) for i, p in enumerate(people)))
    for person in people:
        echo(f"{person.id}:")
        for item in sim.messages_to(person):
            echo(f"  ← {item.text}")
    echo(
        f"events pushed {len(sim.record.pushed)}, acks {len(sim.record.acks)}, "
        f"unacked {len(sim.unacked)}, sends {len(sim.record.sends)}, "
        f"messages delivered {len(sim.record.delivered)}"
    )
