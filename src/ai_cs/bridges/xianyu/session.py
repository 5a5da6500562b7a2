"""One 闲鱼 account's IM session: log in, stay online, turn pushes into §7 events, send.

The life of a connection (marketplace-notes §1.3, §1.9):

1. the IM token for the account's **fixed** device id (cached in the database, so a restart does
   not ask again: risk control counts logins); a stale signing token is renewed once (``令牌过期``);
2. the websocket with the cookie, ``/reg`` with that device id, then ``ackDiff`` "from now" (no
   backlog replayed);
3. a heartbeat every 15 s; two unanswered in a row and the socket counts as silent and is
   dropped;
4. every push is processed whole (every entry of ``data[]``), its events handed to the §7
   endpoint, and the push acknowledged once, after ai-cs stored the events;
5. the token is refreshed on schedule; a new token means a new connection (a socket that
   outlives its token goes quiet);
6. on close, kickout or silence: reconnect after an exponential, jittered backoff (2 s up to
   5 min), so a flapping account never storms the platform.

Risk control is never solved here: ``RGV587`` / ``FAIL_SYS_USER_VALIDATE`` on **any** mtop call
(token, order detail, item detail, consign, upload) put the account in ``needs_verification``, a
dead login (after one renewal try) in ``logged_out``; either waits, without reconnecting, until
staff paste a fresh cookie (the state change tells the shop, §11). A ``/reg`` the platform keeps
refusing is not retried for ever either: each refusal drops the token and backs off, and after
``reg_refusal_limit`` refusals in a row the account waits in ``needs_verification`` too — a login
loop is exactly what risk control counts.

Own messages: the send reply's message id is recorded; the echo with that id is ours. Any other
message from the seller's side is a person in the shop's app: a §7 seller message (takeover).
An echo can come before the reply, so an unknown own message waits for the sends in flight.

确认发货 (``consign=True``, ``AICS_XIANYU_CONSIGN_DUMMY``): while online the session carries out
the 确认发货 staff approved for its account (:mod:`ai_cs.bridges.consign`) — the order detail
first (an order the platform already shows shipped is recorded done without a second call),
then ``consign.dummy``; the answer is recorded either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlparse

import httpx
from PIL import Image
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from ai_cs.bridges import models
from ai_cs.bridges.consign import DueConsign
from ai_cs.bridges.endpoint import BridgeEndpoint, NotReady, SendCommand
from ai_cs.bridges.store import AccountStore
from ai_cs.bridges.xianyu import frames as fr
from ai_cs.bridges.xianyu import messages as msg
from ai_cs.bridges.xianyu.cookies import CookieJar
from ai_cs.bridges.xianyu.mtop import (
    ORIGIN,
    USER_AGENT,
    ImToken,
    LoggedOut,
    MtopClient,
    NeedsVerification,
    XianyuError,
)
from ai_cs.config import Settings
from ai_cs.marketplace.backoff import backoff_delay

log = logging.getLogger(__name__)

PLATFORM: Final = msg.PLATFORM
CDN_HOSTS: Final = ("alicdn.com", "goofish.com", "taobaocdn.com")
"""Pictures already on the platform's CDN are sent as they are (no upload)."""
CHAT_RASTER: Final = frozenset({"JPEG", "PNG", "GIF", "WEBP"})
UPLOAD_MAX_SIDE: Final = 1920


@dataclass(frozen=True)
class Endpoints:
    """Where the platform is (CONTRACT §10 settings; the fake service's URLs in tests)."""

    ws_url: str
    mtop_url: str
    passport_url: str
    upload_url: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Endpoints:
        """``AICS_XIANYU_WS_URL`` and friends."""
        return cls(
            ws_url=settings.xianyu_ws_url,
            mtop_url=settings.xianyu_mtop_url,
            passport_url=settings.xianyu_passport_url,
            upload_url=settings.xianyu_upload_url,
        )


@dataclass(frozen=True)
class Timings:
    """Pacing of a session (conservative defaults; tests shorten them)."""

    heartbeat_seconds: float = 15.0
    heartbeat_misses: int = 2
    request_timeout: float = 10.0
    token_refresh_seconds: float = 3600.0
    token_margin_seconds: float = 300.0
    backoff_base: float = 2.0
    backoff_cap: float = 300.0
    stable_seconds: float = 60.0
    deliver_timeout: float = 20.0
    echo_wait_seconds: float = 10.0
    state_poll_seconds: float = 3.0
    reg_refusal_limit: int = 3
    heartbeat_timeout: float | None = None

    @property
    def heartbeat_reply_seconds(self) -> float:
        """How long a heartbeat's reply may take before it counts as missed.

        By default as long as any request, however short the interval is set: on a busy host a
        slow answer delays the next beat instead of counting as silence.
        """
        if self.heartbeat_timeout is not None:
            return self.heartbeat_timeout
        return max(self.heartbeat_seconds, self.request_timeout)

    @classmethod
    def from_settings(cls, settings: Settings) -> Timings:
        """The pacing ``AICS_XIANYU_*`` asks for (the rest stays at the defaults)."""
        return cls(
            heartbeat_seconds=settings.xianyu_heartbeat_seconds,
            token_refresh_seconds=settings.xianyu_token_refresh_seconds,
            backoff_base=settings.xianyu_reconnect_base_seconds,
            backoff_cap=settings.xianyu_reconnect_cap_seconds,
            reg_refusal_limit=settings.xianyu_reg_refusal_limit,
        )


class _Reconnect(Exception):
    """End this connection and open a new one (``immediate``: an intended restart)."""

    def __init__(self, reason: str, *, immediate: bool = False, drop_token: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.immediate = immediate
        self.drop_token = drop_token


class _CookieChanged(Exception):
    """Staff pasted a new cookie or paused the account: start over."""


class XianyuSession:
    """Keeps one account online and bridges it to the §7 endpoint."""

    def __init__(
        self,
        store: AccountStore,
        account_id: str,
        endpoint: BridgeEndpoint,
        endpoints: Endpoints,
        *,
        media_prefixes: tuple[str, ...] = (),
        max_media_bytes: int = 20 * 1024 * 1024,
        timings: Timings | None = None,
        consign: bool = False,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.store = store
        self.account_id = account_id
        self.endpoint = endpoint
        self.endpoints = endpoints
        self.media_prefixes = media_prefixes
        self.max_media_bytes = max_media_bytes
        self.timings = timings or Timings()
        self.consign = consign
        self.rng = rng
        self.online = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._pending: dict[str, asyncio.Future[fr.Incoming]] = {}
        self._ours: set[str] = set()
        self._sending = 0
        self._sends_changed = asyncio.Condition()
        self._buyers: dict[str, str] = {}
        self._orders: dict[str, str] = {}
        self._version = 0
        self._jar: CookieJar | None = None
        self._mtop: MtopClient | None = None
        self._token: ImToken | None = None
        self._reg_refusals = 0
        self._blocked_by: XianyuError | None = None
        self._blocked_seen = asyncio.Event()
        self._push_idle = asyncio.Event()

    # ------------------------------------------------------------------ state helpers
    async def _state(self, state: str, reason: str) -> None:
        await asyncio.to_thread(self.store.set_state, self.account_id, state, reason)

    async def _error(self, text: str) -> None:
        await asyncio.to_thread(self.store.error, self.account_id, text)

    def _cookies_renewed(self, jar: CookieJar) -> None:
        # Called from the event loop inside an mtop call: store in the background.
        version = self._version
        header = jar.header()
        task = asyncio.get_running_loop().create_task(
            asyncio.to_thread(self.store.save_cookie, self.account_id, header, version)
        )
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    # ------------------------------------------------------------------ the loop
    async def run(self, stop: asyncio.Event) -> None:
        """Stay online until ``stop`` (or until the account waits for a person)."""
        attempt = 0
        loop = asyncio.get_running_loop()
        async with httpx.AsyncClient(trust_env=False) as http:
            while not stop.is_set():
                view = await asyncio.to_thread(self.store.view, self.account_id)
                if view.paused or view.state in (models.NEEDS_VERIFICATION, models.LOGGED_OUT):
                    # Paused, or waiting for staff to log in again: no connection, no calls.
                    await self._wait_for_change(stop, view)
                    attempt = 0
                    self._reg_refusals = 0
                    continue
                opened = loop.time()
                immediate = False
                try:
                    await self._connect_once(stop, http)
                    reason = "连接已关闭"
                except NeedsVerification as exc:
                    reason = exc.details.get("reason") or (
                        "平台要求验证（滑块/人脸），请重新登录后粘贴新的 Cookie"
                    )
                    await self._blocked(models.NEEDS_VERIFICATION, str(reason), exc)
                    continue
                except LoggedOut as exc:
                    if await self._renewed():
                        continue
                    await self._blocked(
                        models.LOGGED_OUT, "登录已过期，请重新登录后粘贴新的 Cookie", exc
                    )
                    continue
                except _CookieChanged:
                    attempt = 0
                    continue
                except _Reconnect as exc:
                    reason, immediate = exc.reason, exc.immediate
                    if exc.drop_token:
                        await self._forget_token()
                except (
                    OSError,
                    TimeoutError,
                    InvalidHandshake,
                    InvalidURI,
                    ConnectionClosed,
                ) as exc:
                    reason = f"连接失败：{type(exc).__name__}: {exc}"[:300]
                except XianyuError as exc:
                    reason = f"平台调用失败：{exc.message}"[:300]
                if stop.is_set():
                    break
                if loop.time() - opened >= self.timings.stable_seconds or immediate:
                    attempt = 0
                await self._state(models.RECONNECTING, reason)
                if not immediate:
                    await self._error(reason)
                delay = (
                    0.05
                    if immediate
                    else backoff_delay(
                        attempt,
                        base=self.timings.backoff_base,
                        cap=self.timings.backoff_cap,
                        rng=self.rng,
                    )
                )
                attempt += 0 if immediate else 1
                log.info("xianyu %s: %s; reconnecting in %.1fs", self.account_id, reason, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
        self.online.clear()

    async def _blocked(self, state: str, reason: str, exc: XianyuError) -> None:
        log.warning("xianyu %s: %s (%s)", self.account_id, reason, exc.message)
        await self._forget_token()
        await self._error(exc.message)
        await self._state(state, reason)

    async def _renewed(self) -> bool:
        """One renewal try (``hasLogin``) before calling the login dead."""
        if self._mtop is None:
            return False
        try:
            renewed = await self._mtop.has_login()
        except XianyuError:
            return False
        if renewed:
            log.info("xianyu %s: login renewed (hasLogin)", self.account_id)
            await self._forget_token()
        return renewed

    async def _forget_token(self) -> None:
        self._token = None
        await asyncio.to_thread(self.store.save_token, self.account_id, None, None)

    async def _wait_for_change(self, stop: asyncio.Event, view: Any) -> None:
        """Sleep until staff change the cookie, resume, or ``stop``."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.timings.state_poll_seconds)
            now = await asyncio.to_thread(self.store.view, self.account_id)
            if now.cookie_version != view.cookie_version or now.paused != view.paused:
                return
            if now.state not in (models.NEEDS_VERIFICATION, models.LOGGED_OUT) and not now.paused:
                return

    # ------------------------------------------------------------------ one connection
    async def _login(self, http: httpx.AsyncClient) -> ImToken:
        secrets_ = await asyncio.to_thread(self.store.secrets, self.account_id)
        self._version = secrets_.cookie_version
        self._jar = CookieJar.parse(secrets_.cookie)
        self._mtop = MtopClient(
            self._jar,
            http,
            mtop_url=self.endpoints.mtop_url,
            passport_url=self.endpoints.passport_url,
            upload_url=self.endpoints.upload_url,
            on_cookies=self._cookies_renewed,
            on_blocked=self._on_blocked,
        )
        cached = secrets_.token
        expires = secrets_.token_expires_epoch
        fresh = expires is None or expires - self.timings.token_margin_seconds > time.time()
        if cached and fresh:
            return ImToken(cached, secrets_.device_id, expires)
        return await self._fetch_token(secrets_.device_id)

    async def _fetch_token(self, device_id: str) -> ImToken:
        """A new IM token from the platform, cached in the database for the next start."""
        assert self._mtop is not None
        token = await self._mtop.im_token(device_id)
        await asyncio.to_thread(
            self.store.save_token, self.account_id, token.access_token, token.expires_epoch
        )
        return token

    def _on_blocked(self, error: XianyuError) -> None:
        """An mtop call met risk control or a dead login: this connection ends (see run)."""
        if self._blocked_by is None:
            self._blocked_by = error
        self._blocked_seen.set()

    async def _watch_blocked(self) -> None:
        """Raise the first blocking answer once the push in hand is handled (its ack sent)."""
        await self._blocked_seen.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._push_idle.wait(), self.timings.deliver_timeout)
        if self._blocked_by is not None:
            raise self._blocked_by

    def _refused_reg(self, reply: fr.Incoming) -> Exception:
        """What a refused ``/reg`` ends in: a reconnect, or after too many, verification."""
        self._reg_refusals += 1
        said = f"（{reply.code}）：{str(reply.body)[:120]}"
        if self._reg_refusals >= self.timings.reg_refusal_limit:
            return NeedsVerification(
                f"/reg refused {self._reg_refusals} times in a row{said}",
                reason=f"IM 注册连续 {self._reg_refusals} 次被平台拒绝{said}；为免反复登录触发风控"
                "已停止重试，请在浏览器重新登录闲鱼后粘贴新的 Cookie",
            )
        return _Reconnect(f"注册被拒绝{said}", drop_token=True)

    async def _connect_once(self, stop: asyncio.Event, http: httpx.AsyncClient) -> None:
        self._blocked_by = None
        self._blocked_seen.clear()
        self._push_idle.set()
        token = self._token = await self._login(http)
        assert self._jar is not None
        headers = {"Cookie": self._jar.header(), "Origin": ORIGIN, "User-Agent": USER_AGENT}
        async with connect(
            self.endpoints.ws_url,
            additional_headers=headers,
            open_timeout=self.timings.request_timeout,
            ping_interval=None,
            close_timeout=2.0,
            max_size=8 * 1024 * 1024,
            proxy=None,
        ) as ws:
            self._ws = ws
            pushes: asyncio.Queue[fr.Incoming] = asyncio.Queue()
            reader = asyncio.create_task(self._read(ws, pushes), name="xianyu-read")
            tasks: set[asyncio.Task[None]] = {reader}
            try:
                reply = await self._request(
                    fr.reg_frame(token.access_token, token.device_id, fr.new_mid())
                )
                if reply.code != 200:
                    raise self._refused_reg(reply)
                self._reg_refusals = 0
                await self._request(fr.sync_from_now_frame(fr.new_mid(), fr.now_ms()))
                self.online.set()
                await self._state(models.ONLINE, "已连接")
                tasks |= {
                    asyncio.create_task(self._pushes(ws, pushes), name="xianyu-pushes"),
                    asyncio.create_task(self._heartbeat(), name="xianyu-heartbeat"),
                    asyncio.create_task(self._refresh_token(token), name="xianyu-token"),
                    asyncio.create_task(self._watch_account(), name="xianyu-watch"),
                    asyncio.create_task(self._watch_blocked(), name="xianyu-blocked"),
                    asyncio.create_task(_wait(stop), name="xianyu-stop"),
                }
                if self.consign:
                    tasks.add(asyncio.create_task(self._consigns(), name="xianyu-consign"))
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    exc = task.exception()
                    if exc is not None:
                        raise exc
            finally:
                self.online.clear()
                self._ws = None
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                for future in self._pending.values():
                    if not future.done():
                        future.cancel()
                self._pending.clear()

    async def _request(self, frame: dict[str, Any], timeout: float | None = None) -> fr.Incoming:
        """Send a request frame and wait for the reply on its mid."""
        ws = self._ws
        if ws is None:
            raise NotReady("not connected")
        mid = str(frame["headers"]["mid"])
        future: asyncio.Future[fr.Incoming] = asyncio.get_running_loop().create_future()
        self._pending[mid] = future
        try:
            await ws.send(fr.dumps(frame))
            return await asyncio.wait_for(future, timeout or self.timings.request_timeout)
        finally:
            self._pending.pop(mid, None)

    async def _read(self, ws: ClientConnection, pushes: asyncio.Queue[fr.Incoming]) -> None:
        async for data in ws:
            incoming = fr.parse_incoming(data)
            if incoming is None:
                log.info("xianyu %s: a frame that is not a JSON object", self.account_id)
                continue
            waiting = self._pending.get(incoming.mid or "")
            if incoming.lwp is None:
                if waiting is not None and not waiting.done():
                    waiting.set_result(incoming)
                continue
            if incoming.lwp in fr.KICKOUT_PATHS:
                await self._ack(ws, incoming)
                raise _Reconnect(f"平台断开了连接（{incoming.lwp}）", drop_token=True)
            pushes.put_nowait(incoming)

    async def _ack(self, ws: ClientConnection, incoming: fr.Incoming) -> None:
        if not incoming.mid:
            return
        await ws.send(fr.dumps(fr.ack_frame(incoming.headers)))

    async def _heartbeat(self) -> None:
        misses = 0
        while True:
            await asyncio.sleep(self.timings.heartbeat_seconds)
            try:
                await self._request(
                    fr.heartbeat_frame(fr.new_mid()), self.timings.heartbeat_reply_seconds
                )
                misses = 0
            except TimeoutError:
                misses += 1
                if misses >= self.timings.heartbeat_misses:
                    raise _Reconnect(f"心跳连续 {misses} 次无应答") from None

    async def _refresh_token(self, token: ImToken) -> None:
        wait = self.timings.token_refresh_seconds
        if token.expires_epoch is not None:
            wait = min(wait, token.expires_epoch - self.timings.token_margin_seconds - time.time())
        await asyncio.sleep(max(1.0, wait))
        fresh = await self._fetch_token(token.device_id)
        if fresh.access_token != token.access_token:
            raise _Reconnect("令牌已更新，重新连接", immediate=True)

    async def _watch_account(self) -> None:
        while True:
            await asyncio.sleep(self.timings.state_poll_seconds)
            view = await asyncio.to_thread(self.store.view, self.account_id)
            if view.paused or view.cookie_version != self._version:
                raise _CookieChanged()

    # ------------------------------------------------------------------ 确认发货
    async def _consigns(self) -> None:
        """Carry out the 确认发货 staff approved for this account, one at a time."""
        while True:
            await asyncio.sleep(self.timings.state_poll_seconds)
            due = await asyncio.to_thread(self.store.due_consigns, self.account_id)
            for item in due:
                if self._blocked_seen.is_set():
                    break  # the account needs a person; the requests wait for it
                await self._consign(item)

    async def _consign(self, item: DueConsign) -> None:
        assert self._mtop is not None
        try:
            detail = await self._mtop.order_detail(item.order_id)
            if not _shipped(detail.status):
                await self._mtop.consign_dummy(item.order_id)
        except (NeedsVerification, LoggedOut) as exc:
            # on_blocked already ends the connection; the request stays for the next login.
            await asyncio.to_thread(
                self.store.note_consign_wait, item.id, f"等账号恢复后再发货：{exc.message}"
            )
            return
        except XianyuError as exc:
            log.warning("xianyu %s: consign %s failed: %s", self.account_id, item.order_id, exc)
            await asyncio.to_thread(self.store.settle_consign, item.id, exc.message)
            return
        log.info("xianyu %s: order %s marked shipped", self.account_id, item.order_id)
        await asyncio.to_thread(self.store.settle_consign, item.id, None)

    # ------------------------------------------------------------------ pushes
    async def _pushes(self, ws: ClientConnection, pushes: asyncio.Queue[fr.Incoming]) -> None:
        while True:
            self._push_idle.set()
            incoming = await pushes.get()
            self._push_idle.clear()
            events = await self._events_of(incoming)
            if events:
                stored = await self.endpoint.deliver(events, timeout=self.timings.deliver_timeout)
                if not stored:
                    log.warning(
                        "xianyu %s: events not stored within %.0fs; acking, kept for redelivery",
                        self.account_id,
                        self.timings.deliver_timeout,
                    )
                await asyncio.to_thread(self.store.touch, self.account_id)
            await self._ack(ws, incoming)

    async def _events_of(self, incoming: fr.Incoming) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for entry in fr.push_entries(incoming.body):
            decoded = fr.decode_entry(entry)
            if isinstance(decoded, fr.Undecodable):
                await self._unknown(decoded.reason, entry)
                continue
            if decoded.kind == "json":
                continue  # a system frame (chatType / bizType): nothing for a buyer chat
            found = msg.classify(decoded.value)
            if isinstance(found, msg.Skip):
                if found.unknown:
                    await self._unknown(found.reason, entry, decoded.value)
                continue
            if isinstance(found, msg.Chat):
                event = await self._chat_event(found)
            else:
                event = await self._order_event(found)
            if event is not None:
                events.append(event)
        return events

    async def _unknown(self, reason: str, raw: str, decoded: Any = None) -> None:
        log.info("xianyu %s: entry not understood (%s); kept", self.account_id, reason)
        await asyncio.to_thread(self.store.keep_unknown, self.account_id, reason, raw, decoded)

    async def _chat_event(self, chat: msg.Chat) -> dict[str, Any] | None:
        if chat.sender_id != self.account_id:
            self._buyers[chat.conversation_id] = chat.sender_id
            return msg.chat_event(chat, account_id=self.account_id, role="buyer")
        if await self._is_echo(chat.message_id):
            return None
        return msg.chat_event(chat, account_id=self.account_id, role="seller")

    async def _is_echo(self, message_id: str) -> bool:
        """Our own send coming back; waits for sends in flight (the echo may beat the reply)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timings.echo_wait_seconds
        while message_id not in self._ours and self._sending > 0:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            async with self._sends_changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._sends_changed.wait(), timeout=remaining)
        if message_id in self._ours:
            return True
        return await asyncio.to_thread(self.store.is_ours, self.account_id, message_id)

    async def _order_event(self, card: msg.OrderCard) -> dict[str, Any] | None:
        order_id = card.order_id or self._orders.get(card.conversation_id)
        if not order_id:
            log.info("xianyu %s: order card without an order id: %s", self.account_id, card.text)
            return None
        self._orders[card.conversation_id] = order_id
        buyer: str | None = None
        amount: int | None = None
        if self._mtop is not None:
            try:
                detail = await self._mtop.order_detail(order_id)
                buyer, amount = detail.buyer_id, detail.amount_fen
            except XianyuError as exc:
                # The card alone still moves the order; staff see why the amount is missing.
                await self._error(f"订单详情读取失败 {order_id}: {exc.message}")
        sender = (
            card.sender_id
            if card.sender_id not in (None, self.account_id, msg.SYSTEM_SENDER)
            else None
        )
        buyer = buyer or card.peer_id or sender or self._buyers.get(card.conversation_id)
        if not buyer:
            log.info("xianyu %s: order %s without a buyer; skipped", self.account_id, order_id)
            return None
        facts = msg.OrderFacts(
            order_id=order_id, buyer_id=buyer, amount_fen=amount, state=card.state
        )
        return msg.order_event(card, facts, account_id=self.account_id)

    # ------------------------------------------------------------------ sending
    async def send(self, command: SendCommand) -> None:
        """Send a §7 command: pictures first (uploaded), then the text; NotReady to retry later."""
        if not self.online.is_set():
            raise NotReady(f"account {self.account_id} is not online")
        self._sending += 1
        try:
            done = await asyncio.to_thread(self.store.sent_parts, command.command_id)
            part = 0
            for attachment in command.message.attachments:
                if part not in done:
                    content = await self._picture_content(
                        attachment.url, attachment.width, attachment.height
                    )
                    await self._send_part(command, part, content)
                part += 1
            if command.message.text.strip() and part not in done:
                await self._send_part(command, part, fr.content_text(command.message.text))
        finally:
            self._sending -= 1
            async with self._sends_changed:
                self._sends_changed.notify_all()

    async def _send_part(self, command: SendCommand, part: int, content: dict[str, Any]) -> None:
        frame = fr.send_frame(
            fr.new_mid(),
            conversation_id=command.conversation_id,
            to=command.to,
            me=self.account_id,
            content=content,
        )
        try:
            reply = await self._request(frame)
        except TimeoutError:
            raise NotReady("no answer to the send") from None
        body = reply.body if isinstance(reply.body, dict) else {}
        message_id = body.get("messageId")
        if reply.code == 200 and isinstance(message_id, str) and message_id:
            self._ours.add(message_id)
            async with self._sends_changed:
                self._sends_changed.notify_all()
            await self._record_part(command, part, message_id)
            return
        reason = " ".join(str(body.get(k, "")) for k in ("reason", "moreInfo")).strip()
        reason = reason or f"code {reply.code}"
        if "FORBID" in reason or (reply.code is not None and 400 <= reply.code < 500):
            # Refused for good (e.g. CSI_FORBID 安全拦截): resending changes nothing.
            await self._record_part(command, part, None, reason)
            await self._error(f"消息被平台拒绝：{reason}")
            return
        raise NotReady(f"send failed: {reason}")

    async def _record_part(
        self, command: SendCommand, part: int, message_id: str | None, rejected: str | None = None
    ) -> None:
        """Note a part as sent (the platform's message id) or as refused for good."""
        await asyncio.to_thread(
            self.store.record_part,
            self.account_id,
            command.conversation_id,
            command.command_id,
            part,
            message_id,
            rejected,
        )

    async def _picture_content(
        self, url: str, width: int | None, height: int | None
    ) -> dict[str, Any]:
        """An image message for ``url``: CDN pictures as is, ours uploaded, others as a link."""
        host = (urlparse(url).hostname or "").lower()
        if any(host == h or host.endswith("." + h) for h in CDN_HOSTS):
            return fr.content_image(url, width, height)
        if not any(url.startswith(prefix) for prefix in self.media_prefixes):
            return fr.content_text(url)
        assert self._mtop is not None
        try:
            response = await self._mtop.http.get(url, timeout=30.0)
        except httpx.HTTPError as exc:
            raise NotReady(f"cannot read {url}: {exc}") from exc
        if response.status_code != 200 or len(response.content) > self.max_media_bytes:
            return fr.content_text(url)
        prepared = _chat_picture(response.content)
        if prepared is None:
            return fr.content_text(url)  # SVG, PSD, PDF …: chat cannot show it; the link can
        data, name, content_type = prepared
        try:
            uploaded = await self._mtop.upload(data, name, content_type)
        except XianyuError as exc:
            # Risk control or a dead login was told to the session (on_blocked), which ends the
            # connection; the command stays unanswered and is sent again once online.
            raise NotReady(f"upload failed: {exc.message}") from exc
        return fr.content_image(uploaded.url, uploaded.width, uploaded.height)


SHIPPED_MARKERS: Final = ("WAIT_BUYER_CONFIRM", "TRADE_FINISHED", "TRADE_SUCCESS", "已发货")
"""Order states after shipment (the detail's status is read tolerantly; unknown = not shipped)."""


def _shipped(status: str | None) -> bool:
    return bool(status) and any(m in str(status) for m in SHIPPED_MARKERS)


def _chat_picture(data: bytes) -> tuple[bytes, str, str] | None:
    """The picture as chat takes it (JPEG ≤1920 px unless already a small PNG/JPEG), or None."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            kind = img.format or ""
            if kind not in CHAT_RASTER:
                return None
            if kind in ("JPEG", "PNG") and max(img.size) <= UPLOAD_MAX_SIDE:
                return (
                    data,
                    f"picture.{kind.lower().replace('jpeg', 'jpg')}",
                    f"image/{kind.lower()}",
                )
            picture = img.convert("RGB")
            picture.thumbnail((UPLOAD_MAX_SIDE, UPLOAD_MAX_SIDE))
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=85)
    return out.getvalue(), "picture.jpg", "image/jpeg"


async def _wait(stop: asyncio.Event) -> None:
    await stop.wait()
