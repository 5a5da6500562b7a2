"""Notifications end to end: events written with their cause, relayed to a loopback receiver
playing DingTalk, Feishu, WeCom and a webhook, retried, never lost, never doubled."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from notify_receiver import Receiver, channel_settings, serve
from sqlalchemy import func, select

from ai_cs.clock import FixedClock
from ai_cs.config import Settings
from ai_cs.conversations import service as conversations
from ai_cs.core.tasks import TaskStatus
from ai_cs.notify import NotifyKind
from ai_cs.notify.channels import configured_channels
from ai_cs.notify.models import NotifyDelivery, NotifyEvent
from ai_cs.notify.relay import RelayReport, deliver_due, http_client
from ai_cs.tasks import orders
from ai_cs.tasks.service import transition
from ai_cs.workflow import Workflow
from factories import account_notice, open_chat

BASE = "https://shop.example.com"
CHANNELS = ("dingtalk", "feishu", "wecom", "webhook")


@pytest.fixture
def receiver(clock: FixedClock) -> Receiver:
    return Receiver(now_epoch=clock.epoch())


@pytest.fixture
def server(receiver: Receiver) -> Iterator[Any]:
    srv = serve(receiver)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def notify_settings(settings: Settings, server: Any) -> Settings:
    return settings.model_copy(
        update={**channel_settings(server.url), "public_base_url": BASE + "/"}
    )


def relay_pass(wf: Workflow, notify_settings: Settings, **kwargs: Any) -> RelayReport:
    with http_client() as client:
        return deliver_due(
            wf.db,
            wf.clock,
            client,
            configured_channels(notify_settings),
            base_url=notify_settings.api_base_url,
            paid_orders=notify_settings.notify_paid_orders,
            **kwargs,
        )


def _handed_task(wf: Workflow) -> str:
    task = wf.create_image_task(
        "buyer_1",
        "https://img.example.com/a.jpg",
        "remove_bg",
        customer_name="小明",
        acc_id="shop_a",
        acc_type="xianyu",
        price_fen=2000,
    )
    tid = task["task_id"]
    wf.db.run_write(lambda s: transition(s, wf.clock, tid, TaskStatus.PAID))
    wf.db.run_write(
        lambda s: orders.hand_to_designer(
            s, wf.clock, tid, "边缘要手工精修", orders.Caller.staff("客服小王")
        )
    )
    return tid


def _review(wf: Workflow) -> None:
    with wf.db.write() as session:
        open_chat(session, wf.clock, "conv_9", "buyer_2", nick="王女士")
        conversations.mark_needs_human(
            session,
            wf.clock,
            "conv_9",
            "需要人工审核：图片含证件号码",
            notify=NotifyKind.RISK_REVIEW,
        )


def _offline(wf: Workflow) -> None:
    account_notice(
        wf,
        NotifyKind.ACCOUNT_OFFLINE,
        "shop_a",
        key="acc:shop_a:offline:1",
        reason="连接断开，重连 5 次失败",
    )


def test_one_signed_message_per_event_on_every_channel(
    fixed_workflow: Workflow, notify_settings: Settings, receiver: Receiver
) -> None:
    wf = fixed_workflow
    tid = _handed_task(wf)
    _review(wf)
    _offline(wf)

    report = relay_pass(wf, notify_settings)
    assert (report.fanned_out, report.sent, report.retried) == (3, 12, 0)
    assert receiver.bad_signatures == []
    for channel in CHANNELS:
        assert len(receiver.accepted[channel]) == 3, channel

    ding = [m["markdown"] for m in receiver.accepted["dingtalk"]]
    assert [m["title"] for m in ding] == [
        f"【转设计师】订单 {tid}",
        "【待审核】客户 王女士",
        "【店铺掉线】店铺 shop_a（闲鱼）",
    ]
    assert "- **客户**：小明" in ding[0]["text"] and "- **金额**：20 元" in ding[0]["text"]
    assert "边缘要手工精修" in ding[0]["text"] and "**需要**：" in ding[0]["text"]
    assert f"[打开控制台]({BASE}/console/tasks/{tid})" in ding[0]["text"]
    assert f"({BASE}/console/conversations/conv_9)" in ding[1]["text"]
    assert f"({BASE}/console/accounts)" in ding[2]["text"]

    post = receiver.accepted["feishu"][0]
    assert post["msg_type"] == "post"
    zh = post["content"]["post"]["zh_cn"]
    assert zh["title"] == f"【转设计师】订单 {tid}"
    assert {"tag": "a", "text": "打开控制台", "href": f"{BASE}/console/tasks/{tid}"} in [
        cell for row in zh["content"] for cell in row
    ]

    wecom = receiver.accepted["wecom"][2]
    assert wecom["msgtype"] == "markdown"
    assert wecom["markdown"]["content"].startswith("### 【店铺掉线】店铺 shop_a（闲鱼）")
    assert "重连 5 次失败" in wecom["markdown"]["content"]

    hooks = receiver.accepted["webhook"]
    assert [h["kind"] for h in hooks] == ["handed_to_designer", "risk_review", "account_offline"]
    assert hooks[0]["subject"]["task_id"] == tid and hooks[0]["link"].endswith(tid)
    assert hooks[0]["facts"]["原因"] == "边缘要手工精修"
    assert len({h["event_id"] for h in hooks}) == 3

    # Nothing is sent twice: a later pass finds nothing due.
    wf.clock.advance(3600)  # type: ignore[attr-defined]
    assert relay_pass(wf, notify_settings).attempted == 0
    assert sum(len(v) for v in receiver.accepted.values()) == 12


def test_a_dingtalk_errcode_is_retried_with_backoff(
    fixed_workflow: Workflow, notify_settings: Settings, receiver: Receiver
) -> None:
    wf = fixed_workflow
    _handed_task(wf)
    receiver.refuse_next["dingtalk"] = 2  # HTTP 200 with errcode 130101, twice

    first = relay_pass(wf, notify_settings)
    assert (first.sent, first.retried) == (3, 1)
    with wf.db.read() as session:
        row = session.execute(
            select(NotifyDelivery).where(NotifyDelivery.channel == "dingtalk")
        ).scalar_one()
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.last_error == "errcode 130101: send too fast"
        assert "ding-token" not in (row.last_error or "")
    assert relay_pass(wf, notify_settings).attempted == 0  # backing off, not hammering

    wf.clock.advance(2)  # type: ignore[attr-defined]
    assert relay_pass(wf, notify_settings).retried == 1
    wf.clock.advance(4)  # type: ignore[attr-defined]
    assert relay_pass(wf, notify_settings).sent == 1
    assert receiver.refused["dingtalk"] == 2
    assert len(receiver.accepted["dingtalk"]) == 1
    assert all(len(receiver.accepted[c]) == 1 for c in CHANNELS)


def test_a_receiver_down_for_a_minute_loses_nothing(
    fixed_workflow: Workflow, notify_settings: Settings, receiver: Receiver, server: Any
) -> None:
    wf = fixed_workflow
    clock: FixedClock = wf.clock  # type: ignore[assignment]
    port = server.port
    server.stop()  # every channel refuses connections now
    tid = _handed_task(wf)  # the order flow does not wait for the robots
    assert wf.get_task(tid)["status"] == "with_designer"
    _review(wf)

    down_since = clock.epoch()
    while clock.epoch() - down_since < 60:
        report = relay_pass(wf, notify_settings)
        assert report.sent == 0
        clock.advance(5)
        receiver.now_epoch = clock.epoch()
    with wf.db.read() as session:
        errors = session.execute(select(NotifyDelivery.last_error)).scalars().all()
    assert len(errors) == 8 and all(e and "cannot reach" in e for e in errors)

    restarted = serve(receiver, port=port)
    try:
        for _ in range(40):
            relay_pass(wf, notify_settings)
            if all(len(receiver.accepted[c]) == 2 for c in CHANNELS):
                break
            clock.advance(5)
            receiver.now_epoch = clock.epoch()
        assert {c: len(receiver.accepted[c]) for c in CHANNELS} == dict.fromkeys(CHANNELS, 2)
        assert receiver.bad_signatures == []  # signed at the time of sending, not of the event
        with wf.db.read() as session:
            statuses = session.execute(select(NotifyDelivery.status)).scalars().all()
        assert statuses == ["sent"] * 8
    finally:
        restarted.stop()


def test_the_same_event_twice_is_one_notice(
    fixed_workflow: Workflow, notify_settings: Settings, receiver: Receiver
) -> None:
    wf = fixed_workflow
    for _ in range(2):
        account_notice(
            wf, NotifyKind.ACCOUNT_NEEDS_VERIFICATION, "shop_a", key="acc:shop_a:verify:7"
        )
    _review(wf)
    _review(wf)  # the same reason while the flag is still up: not announced again
    relay_pass(wf, notify_settings)
    assert [m["kind"] for m in receiver.accepted["webhook"]] == [
        "account_needs_verification",
        "risk_review",
    ]


def test_a_notice_rolls_back_with_its_cause(fixed_workflow: Workflow) -> None:
    wf = fixed_workflow
    task = wf.create_image_task("buyer_1", "https://img.example.com/a.jpg", "enhance")
    tid = task["task_id"]
    wf.db.run_write(lambda s: transition(s, wf.clock, tid, TaskStatus.PAID))

    def hand_over_then_fail(session: Any) -> None:
        orders.hand_to_designer(session, wf.clock, tid, "需要设计师", orders.Caller.staff("x"))
        raise RuntimeError("the caller's transaction fails after the hand-off")

    with pytest.raises(RuntimeError):
        wf.db.run_write(hand_over_then_fail)
    with wf.db.read() as session:
        assert session.execute(select(func.count()).select_from(NotifyEvent)).scalar_one() == 0
    assert wf.get_task(tid)["status"] == "paid"


def test_paid_orders_are_announced_only_when_switched_on(
    fixed_workflow: Workflow, notify_settings: Settings, receiver: Receiver
) -> None:
    wf = fixed_workflow
    task = wf.create_image_task(
        "buyer_1", "https://img.example.com/a.jpg", "enhance", price_fen=1500
    )
    wf.trigger_processing_on_payment("buyer_1", task_id=task["task_id"], payment_id="PAY-1")
    wf.trigger_processing_on_payment("buyer_1", task_id=task["task_id"], payment_id="PAY-1")
    relay_pass(wf, notify_settings)
    assert receiver.accepted["webhook"] == []

    task2 = wf.create_image_task(
        "buyer_1", "https://img.example.com/b.jpg", "enhance", price_fen=1500
    )
    wf.trigger_processing_on_payment("buyer_1", task_id=task2["task_id"], payment_id="PAY-2")
    relay_pass(wf, notify_settings.model_copy(update={"notify_paid_orders": True}))
    hooks = receiver.accepted["webhook"]
    assert [(h["kind"], h["subject"]["task_id"]) for h in hooks] == [("paid", task2["task_id"])]
    assert hooks[0]["facts"]["金额"] == "15 元"


def test_no_channel_configured_sends_nothing_and_keeps_nothing_waiting(
    fixed_workflow: Workflow, settings: Settings
) -> None:
    wf = fixed_workflow
    _handed_task(wf)
    report = relay_pass(wf, settings)
    assert (report.fanned_out, report.attempted) == (1, 0)
    with wf.db.read() as session:
        assert session.execute(select(func.count()).select_from(NotifyDelivery)).scalar_one() == 0
        payload = json.loads(session.execute(select(NotifyEvent.payload)).scalar_one())
    assert payload["customer"] == "小明" and payload["operation"] == "remove_bg"
