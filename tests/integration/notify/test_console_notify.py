"""The console's 消息通知 page: channel states, the test button per channel, recent notices."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from notify_receiver import Receiver, channel_settings, receiving

from ai_cs.api import create_app
from ai_cs.api.server import ThreadedServer
from ai_cs.auth.service import create_key
from ai_cs.config import Settings
from ai_cs.notify import NotifyKind
from ai_cs.workflow import Workflow
from factories import account_notice, csrf_of


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, Any]]:
    with receiving() as running:
        yield running


def _console(settings: Settings, workflow: Workflow) -> tuple[ThreadedServer, httpx.Client]:
    with workflow.db.write() as session:
        key = create_key(session, workflow.clock, name="店长", scope="staff")
    server = ThreadedServer(create_app(settings, workflow=workflow)).start()
    http = httpx.Client(base_url=server.url, timeout=30)
    assert http.post("/console/login", data={"key": key}).status_code == 303
    return server, http


def test_test_buttons_reach_each_robot_and_say_what_it_answered(
    settings: Settings, workflow: Workflow, receiver: tuple[Receiver, Any]
) -> None:
    fake, srv = receiver
    configured = settings.model_copy(update=channel_settings(srv.url))
    configured = configured.model_copy(update={"notify_wecom_url": ""})
    server, http = _console(configured, workflow)
    try:
        page = http.get("/console/notify")
        assert page.status_code == 200
        assert "ding-token" not in page.text and "wecom-key" not in page.text  # no secrets shown
        rows = re.findall(r'<tr data-channel="(\w+)">(.*?)</tr>', page.text, re.S)
        states = {name: ("已开启" in html, "发送测试消息" in html) for name, html in rows}
        assert states == {
            "dingtalk": (True, True),
            "feishu": (True, True),
            "wecom": (False, False),
            "webhook": (True, True),
        }
        csrf = csrf_of(page.text)
        answer = http.post("/console/notify/test/dingtalk", data={"csrf": csrf})
        assert answer.status_code == 200 and "钉钉：已发送" in answer.text
        assert fake.accepted["dingtalk"][0]["markdown"]["title"] == "【测试消息】天网协作"

        fake.refuse_next["feishu"] = 1
        answer = http.post("/console/notify/test/feishu", data={"csrf": csrf})
        assert "飞书：code 9499: too many request" in answer.text

        answer = http.post("/console/notify/test/wecom", data={"csrf": csrf})
        assert "企业微信：这个渠道还没有配置" in answer.text
        answer = http.post("/console/notify/test/webhook", data={"csrf": "0" * 40})
        assert "页面已过期" in answer.text and fake.accepted["webhook"] == []
    finally:
        http.close()
        server.stop()


def test_recent_notices_link_to_their_page(settings: Settings, workflow: Workflow) -> None:
    account_notice(workflow, NotifyKind.ACCOUNT_NEEDS_VERIFICATION, "xy_2233", reason="滑块验证")
    server, http = _console(settings, workflow)
    try:
        page = http.get("/console/notify")
        assert "【店铺需要验证】店铺 xy_2233（闲鱼）" in page.text
        assert 'href="/console/accounts"' in page.text and "原因：滑块验证" in page.text
        assert "等待发送" in page.text
    finally:
        http.close()
        server.stop()
