"""The 闲鱼 bridge when the platform pushes back: risk control on any call, refused ``/reg``,
the scheduled token refresh, and long outages — each moving the account's state and telling the
shop (CONTRACT §10, §11) through the loopback robots the notification tests use.

The bridge runs alone here (fake Goofish ⇄ sessions ⇄ §7 endpoint ⇄ a plain acking client), so
these tests are about the account, not the agent.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ai_cs.bridges import accounts
from ai_cs.bridges.accounts import AccountCipher
from ai_cs.bridges.endpoint import NotReady, SendCommand
from ai_cs.bridges.models import MarketplaceAccountEvent
from ai_cs.bridges.xianyu.bridge import add_account
from ai_cs.bridges.xianyu.sim import FakeAccount, FakeGoofish
from ai_cs.config import Settings
from ai_cs.gateway.sim import demo_picture
from ai_cs.marketplace.protocol import WireMessage
from ai_cs.notify.channels import configured_channels
from ai_cs.notify.models import NotifyEvent
from ai_cs.notify.relay import deliver_due, http_client
from ai_cs.workflow import Workflow

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "notify"))
from bridge_helpers import FAST, bridge_alone, eventually, fake_settings  # noqa: E402
from notify_receiver import Receiver, channel_settings, receiving  # noqa: E402

pytestmark = pytest.mark.anyio

SELLER = "1000000001"


@pytest.fixture
def robot() -> Iterator[tuple[Receiver, Any]]:
    with receiving() as running:
        yield running


@pytest.fixture
def wf(
    database_url: str, settings: Settings, fake: FakeGoofish, robot: tuple[Receiver, Any]
) -> Iterator[Workflow]:
    configured = fake_settings(
        settings,
        fake,
        # Pictures on the fake count as the shop's own results: they are uploaded.
        public_base_url=fake.base,
        xianyu_offline_notify_minutes=0.01,
        **channel_settings(robot[1].url),
    )
    with Workflow(database_url=database_url, settings=configured) as workflow:
        yield workflow


def _add(wf: Workflow, cookie: str) -> None:
    wf.db.run_write(lambda s: add_account(s, wf.clock, wf.settings, cookie))


def _view(wf: Workflow) -> accounts.AccountView:
    with wf.db.read() as session:
        return accounts.get_account(session, "xianyu", SELLER)


def _notices(wf: Workflow) -> list[tuple[str, dict[str, Any]]]:
    with wf.db.read() as session:
        rows = session.execute(select(NotifyEvent).order_by(NotifyEvent.id)).scalars()
        return [(r.kind, json.loads(r.payload)) for r in rows]


def _events(wf: Workflow) -> list[MarketplaceAccountEvent]:
    with wf.db.read() as session:
        return list(
            session.execute(
                select(MarketplaceAccountEvent).order_by(MarketplaceAccountEvent.id)
            ).scalars()
        )


async def _online(fake: FakeGoofish, wf: Workflow) -> None:
    assert await fake.wait_registered(SELLER)
    assert await eventually(lambda: _view(wf).state == "online")


def _relay(wf: Workflow) -> None:
    with http_client() as client:
        deliver_due(
            wf.db,
            wf.clock,
            client,
            configured_channels(wf.settings),
            base_url=wf.settings.api_base_url,
            paid_orders=False,
        )


async def test_risk_control_on_order_detail_moves_the_account_and_tells_the_shop(
    fake: FakeGoofish, wf: Workflow, seller: FakeAccount, robot: tuple[Receiver, Any]
) -> None:
    async with bridge_alone(wf) as run:
        await _online(fake, wf)
        fetched = len(seller.token_calls)

        # The payment card arrives while the platform wants a slider: order detail is refused.
        fake.add_order("4012345678901234567", buyer="2201", seller=SELLER, amount_fen=3000)
        seller.risk = "verify"
        await fake.pay(SELLER, "2201", "cid-1", "4012345678901234567")
        assert await eventually(lambda: _view(wf).state == "needs_verification")

        # The card itself still reached ai-cs (without the amount), and its push was acked once.
        (payment,) = [e for e in run.events if e["kind"] == "payment"]
        assert payment["order"] == {
            "id": "4012345678901234567",
            "amount_fen": None,
            "status": "paid",
        }
        assert await fake.wait_for(lambda: all(seller.acks[m] == 1 for m in seller.pushes))
        assert seller.mtop_calls.count("mtop.idle.web.trade.order.detail") == 1

        # The account waits for a person: no new login, no new connection.
        await asyncio.sleep(1.0)
        assert len(seller.token_calls) == fetched and seller.connections == 1
        view = _view(wf)
        assert view.last_error and "RGV587" in view.last_error

    # One notice, recorded with the state change (the event row says so) …
    (notice,) = _notices(wf)
    assert notice[0] == "account_needs_verification"
    assert notice[1]["account_id"] == SELLER and notice[1]["account_nick"] == "修图小店"
    last = _events(wf)[-1]
    assert (last.state, last.notified_at is not None) == ("needs_verification", True)

    # … which the robots receive: the account by name, what to do, the console page.
    receiver, _ = robot
    _relay(wf)
    (ding,) = receiver.accepted["dingtalk"]
    assert ding["markdown"]["title"] == f"【店铺需要验证】店铺 修图小店（闲鱼 {SELLER}）"
    assert "粘贴新的 Cookie" in ding["markdown"]["text"]
    assert f"({wf.settings.api_base_url}/console/accounts)" in ding["markdown"]["text"]
    (hook,) = receiver.accepted["webhook"]
    assert hook["kind"] == "account_needs_verification"
    assert hook["subject"] == {"account_id": SELLER, "platform": "xianyu"}


async def test_a_dead_login_met_by_an_upload_logs_the_account_out(
    fake: FakeGoofish, wf: Workflow, seller: FakeAccount
) -> None:
    async with bridge_alone(wf) as run:
        await _online(fake, wf)
        session = run.bridge.running[SELLER].session
        url = fake.add_picture("result.png", demo_picture())

        seller.risk = "logged_out"  # the upload gets the login page instead of JSON
        command = SendCommand(
            command_id="deliver-1",
            account_id=SELLER,
            conversation_id="cid-1",
            to="2201",
            message=WireMessage.model_validate(
                {"kind": "image", "text": "做好啦", "attachments": [{"url": url}]}
            ),
        )
        with pytest.raises(NotReady):
            await session.send(command)
        assert await eventually(lambda: _view(wf).state == "logged_out")
        assert fake.sent_to(SELLER, "cid-1") == []  # nothing half-sent: the command is retried

    kinds = [kind for kind, _ in _notices(wf)]
    assert kinds == ["account_logged_out"]
    assert "Cookie" in (_view(wf).state_reason or "")


async def test_a_refused_reg_backs_off_and_stops_after_the_limit(
    fake: FakeGoofish, wf: Workflow, seller: FakeAccount
) -> None:
    seller.refuse_reg = True
    async with bridge_alone(wf):
        assert await eventually(lambda: _view(wf).state == "needs_verification")
        # Exactly the limit: each refusal dropped its token and logged in again, no more.
        assert [ok for _, ok in seller.regs] == [False, False, False]
        assert len(seller.token_calls) == 3
        # Backed off in between: at least half of 0.1 s, then of 0.2 s (equal jitter).
        gaps = [b - a for a, b in zip(seller.reg_times, seller.reg_times[1:], strict=False)]
        assert gaps[0] >= 0.05 and gaps[1] >= 0.1, gaps
        reason = _view(wf).state_reason or ""
        assert "连续 3 次" in reason and "Cookie" in reason
        await asyncio.sleep(1.0)
        assert len(seller.regs) == 3 and len(seller.token_calls) == 3

        # Staff log in again and paste the fresh cookie: the account comes back.
        seller.refuse_reg = False
        _add(wf, seller.cookie())
        await _online(fake, wf)
        assert seller.regs[-1][1] is True
    assert [kind for kind, _ in _notices(wf)] == ["account_needs_verification"]


async def test_the_token_is_refreshed_on_schedule_and_the_session_moves_to_it(
    fake: FakeGoofish, wf: Workflow, seller: FakeAccount
) -> None:
    async with bridge_alone(wf, replace(FAST, token_refresh_seconds=1.0)) as run:
        assert await fake.wait_registered(SELLER)
        first = list(seller.tokens)
        assert len(first) == 1
        # After the interval a new token is fetched and the socket reconnects with it.
        assert await fake.wait_for(lambda: len(seller.regs) >= 2, timeout=10)
        assert await fake.wait_registered(SELLER)
        second = [t for t in seller.tokens if t not in first]
        assert second and seller.connections >= 2
        assert all(ok for _, ok in seller.regs)
        with wf.db.read() as session:
            cached = accounts.load_secrets(session, AccountCipher(wf.settings), "xianyu", SELLER)
        assert cached.token in second
        # The new connection delivers the buyer's messages.
        await fake.say(SELLER, "2201", "cid-1", "刷新后还在吗")
        assert await eventually(
            lambda: any(
                e["message"]["text"] == "刷新后还在吗" for e in run.events if "message" in e
            )
        )
        assert _view(wf).state == "online"
    assert _notices(wf) == []


async def test_an_account_reconnecting_too_long_is_announced_once_per_outage(
    fake: FakeGoofish, wf: Workflow, seller: FakeAccount
) -> None:

    def offline_notices() -> int:
        return sum(1 for kind, _ in _notices(wf) if kind == "account_offline")

    async with bridge_alone(wf):
        assert await fake.wait_registered(SELLER)
        seller.refuse_connections = True
        await fake.drop(SELLER)
        assert await eventually(lambda: _view(wf).state == "reconnecting")
        # Not at once: only after AICS_XIANYU_OFFLINE_NOTIFY_MINUTES (0.6 s here).
        assert offline_notices() == 0
        assert await eventually(lambda: offline_notices() == 1)
        await asyncio.sleep(1.0)
        assert offline_notices() == 1 and _view(wf).state == "reconnecting"

        # Back online, then a second outage: a second notice.
        seller.refuse_connections = False
        assert await eventually(lambda: _view(wf).state == "online")
        seller.refuse_connections = True
        await fake.drop(SELLER)
        assert await eventually(lambda: offline_notices() == 2)
        seller.refuse_connections = False

    (_, payload), _second = [n for n in _notices(wf) if n[0] == "account_offline"]
    assert payload["account_id"] == SELLER and "仍未连上" in payload["reason"]


async def test_a_silent_socket_is_dropped_and_opened_again(
    fake: FakeGoofish, wf: Workflow, seller: FakeAccount
) -> None:
    async with bridge_alone(wf, replace(FAST, heartbeat_timeout=0.3)) as run:
        assert await fake.wait_registered(SELLER)
        seller.mute_heartbeats = True  # the socket stays open, but nothing answers
        assert await fake.wait_for(lambda: seller.connections == 2, timeout=10)
        seller.mute_heartbeats = False
        assert await fake.wait_registered(SELLER)
        await fake.say(SELLER, "2201", "cid-1", "还在吗")
        assert await eventually(lambda: any("message" in e for e in run.events))
        # The same cached token, the same device id: a reconnect is not a new login.
        assert len(seller.token_calls) == 1 and len({did for did, _ in seller.regs}) == 1
    reasons = [e.reason or "" for e in _events(wf) if e.state == "reconnecting"]
    assert reasons and "心跳" in reasons[0]
