"""确认发货 (consign.dummy): offered in the console only when switched on and only for a confirmed,
platform-paid 闲鱼 order; a staff member's click is carried out once by the account's session
against the fake Goofish; failures show their reason and can be asked again."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from bridge_helpers import bridge_alone, eventually, fake_settings
from sqlalchemy import func, select

from ai_cs.api import create_app
from ai_cs.api.server import ThreadedServer
from ai_cs.auth.service import create_key
from ai_cs.bridges.consign import consign_of
from ai_cs.bridges.models import BridgeConsign
from ai_cs.bridges.xianyu.sim import FakeAccount, FakeGoofish
from ai_cs.config import Settings
from ai_cs.core.tasks import TaskStatus
from ai_cs.tasks.service import transition
from ai_cs.workflow import Workflow
from factories import csrf_of

pytestmark = pytest.mark.anyio

SELLER = "1000000001"


@pytest.fixture
def wf(database_url: str, settings: Settings, fake: FakeGoofish) -> Iterator[Workflow]:
    workflow = Workflow(
        database_url=database_url,
        settings=fake_settings(settings, fake, xianyu_consign_dummy=True),
    )
    try:
        yield workflow
    finally:
        workflow.close()


@pytest.fixture
def console(wf: Workflow) -> Iterator[httpx.Client]:
    with wf.db.write() as session:
        key = create_key(session, wf.clock, name="客服小王", scope="staff")
    with (
        ThreadedServer(create_app(wf.settings, workflow=wf)) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        assert http.post("/console/login", data={"key": key}).status_code == 303
        yield http


def _order(wf: Workflow, order_id: str, status: TaskStatus = TaskStatus.COMPLETED) -> str:
    """A 闲鱼 task paid by platform order ``order_id`` and walked to ``status``."""
    task = wf.create_image_task(
        "2201", "https://xxx.com/a.jpg", "enhance", acc_id=SELLER, acc_type="xianyu", price_fen=3000
    )
    tid = task["task_id"]
    wf.trigger_processing_on_payment("2201", task_id=tid, payment_id=order_id, amount_fen=3000)
    if status in (TaskStatus.AWAITING_CONFIRM, TaskStatus.COMPLETED):
        wf.db.run_write(lambda s: transition(s, wf.clock, tid, TaskStatus.AWAITING_CONFIRM))
    if status is TaskStatus.COMPLETED:
        wf.confirm_task(tid, "2201")
    return str(tid)


def _consign(console: httpx.Client, task_id: str, page: str | None = None) -> httpx.Response:
    csrf = csrf_of(console.get("/console/accounts").text)
    return console.post(
        f"/console/accounts/orders/{task_id}/consign",
        data={"csrf": csrf, "next": page or f"/console/tasks/{task_id}"},
    )


def _status(wf: Workflow, task_id: str) -> str | None:
    with wf.db.read() as session:
        view = consign_of(session, task_id)
    return view.status if view else None


async def test_staff_approve_and_the_session_marks_the_order_shipped_once(
    fake: FakeGoofish, wf: Workflow, seller: FakeAccount, console: httpx.Client
) -> None:
    fake.add_order("4012345678901234567", buyer="2201", seller=SELLER, amount_fen=3000)
    done = _order(wf, "4012345678901234567")
    waiting = _order(wf, "4012345678901234568", TaskStatus.AWAITING_CONFIRM)

    # Offered for the confirmed order only: on its task page and in the list on 店铺账号.
    page = console.get(f"/console/tasks/{done}").text
    assert "闲鱼发货" in page and "确认发货" in page and "4012345678901234567" in page
    assert "闲鱼发货" not in console.get(f"/console/tasks/{waiting}").text
    listed = console.get("/console/accounts").text
    assert f'data-task-id="{done}"' in listed and f'data-task-id="{waiting}"' not in listed
    refused = _consign(console, waiting)
    assert refused.headers["location"].endswith("err=consign_not_allowed")

    # The click is a request (twice is still one), the session carries it out.
    asked = _consign(console, done)
    assert asked.status_code == 303 and asked.headers["location"].endswith("ok=consign")
    assert _consign(console, done).status_code == 303
    with wf.db.read() as session:
        assert session.execute(select(func.count()).select_from(BridgeConsign)).scalar_one() == 1
        row = session.execute(select(BridgeConsign)).scalar_one()
    assert (row.status, row.requested_by) == ("requested", "staff:客服小王")

    async with bridge_alone(wf):
        assert await eventually(lambda: _status(wf, done) == "done")
    assert seller.consigned == ["4012345678901234567"]
    assert fake.orders["4012345678901234567"].status == "WAIT_BUYER_CONFIRM_GOODS"

    shown = console.get(f"/console/tasks/{done}").text
    assert "已发货" in shown and "确认发货</button>" not in shown
    assert f'data-task-id="{done}"' not in console.get("/console/accounts").text
    # Done stays done: another click asks nothing of the platform.
    _consign(console, done)
    assert _status(wf, done) == "done"


async def test_a_refusal_is_shown_with_its_reason_and_can_be_asked_again(
    fake: FakeGoofish, wf: Workflow, seller: FakeAccount, console: httpx.Client
) -> None:
    task = _order(wf, "4012345678901234569")  # the fake does not know this order yet
    _consign(console, task, "/console/accounts")
    async with bridge_alone(wf):
        assert await eventually(lambda: _status(wf, task) == "failed")
        page = console.get(f"/console/tasks/{task}").text
        assert "发货失败" in page and "FAIL_BIZ_NOT_FOUND" in page and "重新确认发货" in page

        fake.add_order("4012345678901234569", buyer="2201", seller=SELLER, amount_fen=3000)
        _consign(console, task)
        assert await eventually(lambda: _status(wf, task) == "done")
    assert seller.consigned == ["4012345678901234569"]
    with wf.db.read() as session:
        row = session.execute(select(BridgeConsign)).scalar_one()
    assert (row.attempts, row.reason) == (2, None)


async def test_an_order_the_platform_already_shows_shipped_is_not_shipped_again(
    fake: FakeGoofish, wf: Workflow, seller: FakeAccount, console: httpx.Client
) -> None:
    order = fake.add_order("4012345678901234570", buyer="2201", seller=SELLER, amount_fen=3000)
    order.status = "WAIT_BUYER_CONFIRM_GOODS"  # shipped from the phone, say
    task = _order(wf, "4012345678901234570")
    _consign(console, task)
    async with bridge_alone(wf):
        assert await eventually(lambda: _status(wf, task) == "done")
    assert seller.consigned == []


async def test_nothing_is_offered_while_the_setting_is_off(
    database_url: str, settings: Settings, fake: FakeGoofish
) -> None:
    wf = Workflow(database_url=database_url, settings=fake_settings(settings, fake))
    try:
        task = _order(wf, "4012345678901234571")
        with wf.db.write() as session:
            key = create_key(session, wf.clock, name="客服小王", scope="staff")
        with (
            ThreadedServer(create_app(wf.settings, workflow=wf)) as server,
            httpx.Client(base_url=server.url, timeout=30) as http,
        ):
            http.post("/console/login", data={"key": key})
            assert "闲鱼发货" not in http.get(f"/console/tasks/{task}").text
            assert "待确认发货" not in http.get("/console/accounts").text
            off = _consign(http, task)
            assert off.headers["location"].endswith("err=consign_off")
        with wf.db.read() as session:
            assert (
                session.execute(select(func.count()).select_from(BridgeConsign)).scalar_one() == 0
            )
    finally:
        wf.close()
