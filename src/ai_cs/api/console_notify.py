"""The console's 通知 page: which group robots are set up, a test button each, recent notices.

The robots themselves are configuration (``AICS_NOTIFY_*``, CONTRACT §11): their URLs carry
access tokens, so the page says only whether each one is set and signed, never the URL.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ai_cs.api.console import CsrfField, console_staff, csrf_ok, render, workflow_of
from ai_cs.clock import iso
from ai_cs.config import Settings
from ai_cs.notify.channels import CHANNEL_LABELS, NotifyFailed, configured_channels
from ai_cs.notify.history import recent_notices
from ai_cs.notify.relay import send_test

router = APIRouter(
    prefix="/console/notify", include_in_schema=False, dependencies=[Depends(console_staff)]
)

SETTING_NAMES: Final = {
    "dingtalk": ("AICS_NOTIFY_DINGTALK_URL", "AICS_NOTIFY_DINGTALK_SECRET"),
    "feishu": ("AICS_NOTIFY_FEISHU_URL", "AICS_NOTIFY_FEISHU_SECRET"),
    "wecom": ("AICS_NOTIFY_WECOM_URL", None),
    "webhook": ("AICS_NOTIFY_WEBHOOK_URL", "AICS_NOTIFY_WEBHOOK_SECRET"),
}


def _channels(settings: Settings) -> list[dict[str, Any]]:
    configured = configured_channels(settings)
    secrets = {
        "dingtalk": settings.notify_dingtalk_secret,
        "feishu": settings.notify_feishu_secret,
        "wecom": "",
        "webhook": settings.notify_webhook_secret,
    }
    return [
        {
            "name": name,
            "label": label,
            "configured": name in configured,
            "signed": bool(secrets[name]),
            "url_setting": SETTING_NAMES[name][0],
            "secret_setting": SETTING_NAMES[name][1],
        }
        for name, label in CHANNEL_LABELS.items()
    ]


def _page(request: Request, test_result: dict[str, Any] | None = None) -> Response:
    workflow = workflow_of(request)
    settings: Settings = request.app.state.settings
    with workflow.db.read() as session:
        notices = recent_notices(session)
    return render(
        request,
        "notify.html",
        {
            "channels": _channels(settings),
            "paid_orders": settings.notify_paid_orders,
            "notices": notices,
            "channel_labels": CHANNEL_LABELS,
            "test_result": test_result,
            "base_url": settings.api_base_url,
        },
    )


@router.get("")
def notify_page(request: Request) -> Response:
    """通知设置与记录."""
    return _page(request)


@router.post("/test/{channel}")
def notify_test(request: Request, channel: str, csrf: CsrfField = "") -> Response:
    """发送测试消息: straight to the robot, the answer shown on the page."""
    label = CHANNEL_LABELS.get(channel, channel)
    if not csrf_ok(request, csrf):
        result = {"ok": False, "label": label, "message": "页面已过期，请刷新后再试"}
        return _page(request, result)
    settings: Settings = request.app.state.settings
    clock = workflow_of(request).clock
    try:
        send_test(settings, channel, clock.epoch(), iso(clock.now()))
    except KeyError:
        result = {"ok": False, "label": label, "message": "这个渠道还没有配置"}
    except NotifyFailed as exc:
        result = {"ok": False, "label": label, "message": exc.message}
    else:
        result = {"ok": True, "label": label, "message": "已发送，请到群里看看有没有收到"}
    return _page(request, result)
