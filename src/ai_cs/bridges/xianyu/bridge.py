"""The 闲鱼 bridge of one process: a session per configured account, each under a lease.

Accounts come from the database (added by the console, ``aics accounts add`` or
``AICS_XIANYU_COOKIE``) and are looked at every few seconds, so an account added or removed while
the bridge runs is picked up without a restart. Each account's session runs only while this
process holds the account's lease (``gateway_account_leases``, key ``xianyu:<user id>``): two
processes never open two connections for one account (a second connection would kick the first,
and risk control counts both). The same look also announces accounts that have been
reconnecting for too long (§11).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from asyncio import FIRST_COMPLETED
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from typing import Final
from urllib.parse import unquote

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ai_cs.bridges import accounts
from ai_cs.bridges.accounts import AccountCipher, AccountView
from ai_cs.bridges.endpoint import BridgeEndpoint
from ai_cs.bridges.store import AccountStore
from ai_cs.bridges.xianyu.cookies import CookieJar
from ai_cs.bridges.xianyu.frames import new_device_id
from ai_cs.bridges.xianyu.messages import PLATFORM
from ai_cs.bridges.xianyu.session import Endpoints, Timings, XianyuSession
from ai_cs.clock import Clock
from ai_cs.config import Settings
from ai_cs.db.database import Database
from ai_cs.marketplace import service as gw

log = logging.getLogger(__name__)

POLL_SECONDS: Final = 5.0
LEASE_SECONDS: Final = 30.0


def add_account(
    session: Session, clock: Clock, settings: Settings, cookie: str
) -> tuple[AccountView, bool]:
    """Add (or refresh the cookie of) the account a pasted cookie logs into.

    Raises :class:`~ai_cs.bridges.xianyu.cookies.CookieError` for a cookie that cannot log in.
    The device id is made once, here, and kept with the account for good (``/reg`` must send
    the device id the token was issued for).
    """
    jar = CookieJar.parse(cookie)
    nick = unquote(jar.get("tracknick") or "") or None
    return accounts.upsert_account(
        session,
        clock,
        AccountCipher(settings),
        platform=PLATFORM,
        account_id=jar.user_id,
        cookie=jar.header(),
        nick=nick,
        device_id=new_device_id(jar.user_id),
    )


def import_env_cookie(db: Database, clock: Clock, settings: Settings) -> AccountView | None:
    """``AICS_XIANYU_COOKIE``: add or update that account at start (headless deployments)."""
    if not settings.xianyu_cookie.strip():
        return None
    cookie = settings.xianyu_cookie
    with db.read() as session:
        known = {a.account_id: a for a in accounts.list_accounts(session, PLATFORM)}
    jar = CookieJar.parse(cookie)
    current = known.get(jar.user_id)
    if current is not None:
        with db.read() as session:
            stored = accounts.load_secrets(session, AccountCipher(settings), PLATFORM, jar.user_id)
        if stored.cookie == jar.header():
            return current  # the same cookie again: keep the cached token and the state
    view, _created = db.run_write(lambda s: add_account(s, clock, settings, cookie))
    return view


def media_prefixes(settings: Settings) -> tuple[str, ...]:
    """URLs the bridge may fetch to upload (our own result links): the API's public base."""
    base = settings.public_base_url.rstrip("/") or f"http://{settings.host}:{settings.api_port}"
    return (base + "/",)


@dataclass
class _Running:
    session: XianyuSession
    stop: asyncio.Event
    task: asyncio.Task[None]


@dataclass(eq=False)
class XianyuBridge:
    """Runs a :class:`XianyuSession` for every account this process holds the lease of."""

    db: Database
    clock: Clock
    settings: Settings
    endpoint: BridgeEndpoint
    _: KW_ONLY
    holder: str
    timings: Timings | None = None
    poll_seconds: float = POLL_SECONDS
    lease_seconds: float = LEASE_SECONDS
    session_factory: Callable[..., XianyuSession] = XianyuSession
    store: AccountStore = field(init=False)
    running: dict[str, _Running] = field(init=False, default_factory=dict)
    gate: asyncio.Event | None = field(init=False, default=None)
    """When set by the owner: sessions run only while this event is set."""

    def __post_init__(self) -> None:
        self.store = AccountStore(self.db, self.clock, self.settings, PLATFORM)

    def _lease(self, account_id: str) -> bool:
        key = f"{PLATFORM}:{account_id}"
        return bool(
            self.db.run_write(
                lambda s: gw.acquire_lease(s, self.clock, key, self.holder, self.lease_seconds)
            )
        )

    def _release(self, account_id: str) -> None:
        key = f"{PLATFORM}:{account_id}"
        with contextlib.suppress(SQLAlchemyError):
            self.db.run_write(lambda s: gw.release_lease(s, key, self.holder))

    async def run(self, stop: asyncio.Event) -> None:
        """Keep every configured account's session running until ``stop``."""
        try:
            while not stop.is_set():
                try:
                    await self._step()
                except SQLAlchemyError:
                    log.warning("xianyu bridge: database error; retrying", exc_info=True)
                await self._pause(stop)
        finally:
            for account_id in list(self.running):
                await self._stop_session(account_id)

    async def _pause(self, stop: asyncio.Event) -> None:
        """Until the next look: ``poll_seconds``, or sooner when ``stop`` or the gate opens."""
        waits = {asyncio.ensure_future(stop.wait())}
        if self.gate is not None and not self.gate.is_set():
            waits.add(asyncio.ensure_future(self.gate.wait()))
        try:
            await asyncio.wait(waits, timeout=self.poll_seconds, return_when=FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    async def _step(self) -> None:
        await asyncio.to_thread(
            self.store.announce_long_reconnects, self.settings.xianyu_offline_notify_minutes * 60
        )
        views = await asyncio.to_thread(self.store.accounts)
        open_gate = self.gate is None or self.gate.is_set()
        wanted = {v.account_id for v in views} if open_gate else set()
        for account_id in list(self.running):
            held = account_id in wanted and await asyncio.to_thread(self._lease, account_id)
            if not held or self.running[account_id].task.done():
                await self._stop_session(account_id)
        for account_id in sorted(wanted - set(self.running)):
            if await asyncio.to_thread(self._lease, account_id):
                self._start_session(account_id)

    def _start_session(self, account_id: str) -> None:
        session = self.session_factory(
            self.store,
            account_id,
            self.endpoint,
            Endpoints.from_settings(self.settings),
            media_prefixes=media_prefixes(self.settings),
            max_media_bytes=self.settings.max_upload_bytes,
            timings=self.timings or Timings.from_settings(self.settings),
            consign=self.settings.xianyu_consign_dummy,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(session.run(stop), name=f"xianyu:{account_id}")
        self.running[account_id] = _Running(session, stop, task)
        self.endpoint.senders[account_id] = session.send
        log.info("xianyu bridge: account %s started", account_id)

    async def _stop_session(self, account_id: str) -> None:
        running = self.running.pop(account_id, None)
        self.endpoint.senders.pop(account_id, None)
        if running is None:
            return
        running.stop.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(running.task, return_exceptions=True), 10)
        if not running.task.done():
            running.task.cancel()
            await asyncio.gather(running.task, return_exceptions=True)
        elif not running.task.cancelled() and running.task.exception() is not None:
            log.error(
                "xianyu bridge: session %s failed", account_id, exc_info=running.task.exception()
            )
        await asyncio.to_thread(self._release, account_id)


def has_accounts(db: Database) -> bool:
    """Whether at least one 闲鱼 account is configured."""
    with db.read() as session:
        return bool(accounts.list_accounts(session, PLATFORM))
