"""Credentials in the settings never show in a repr (logs, tracebacks, objects holding settings)."""

from __future__ import annotations

from pathlib import Path

from ai_cs.clock import SystemClock
from ai_cs.config import Settings
from ai_cs.db.database import Database
from ai_cs.processing.worker import ProcessingFlow

CREDENTIALS = {
    "database_url": "postgresql+psycopg://shop:pg-pass-123@db/aics",
    "dispatch_api_key": "dispatch-key-123",
    "dispatch_callback_secret": "callback-secret-123",
    "llm_api_key": "sk-llm-123",
    "xianyu_cookie": "unb=42; _m_h5_tk=cookie-token-123_1",
    "account_key": "fernet-key-123",
    "notify_dingtalk_url": "https://oapi.dingtalk.com/robot/send?access_token=ding-token-123",
    "notify_dingtalk_secret": "SECding-secret-123",
    "notify_feishu_url": "https://open.feishu.cn/open-apis/bot/v2/hook/feishu-hook-123",
    "notify_feishu_secret": "feishu-secret-123",
    "notify_wecom_url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wecom-key-123",
    "notify_webhook_url": "https://shop.example/hook?token=webhook-token-123",
    "notify_webhook_secret": "webhook-secret-123",
}


def test_no_credential_in_the_settings_repr(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, **CREDENTIALS)
    assert settings.llm_api_key == "sk-llm-123"
    shown = repr(settings) + str(settings)
    assert str(tmp_path) in shown
    assert [name for name, value in CREDENTIALS.items() if value in shown] == []


def test_no_credential_in_the_repr_of_what_holds_settings(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, **CREDENTIALS)
    db = Database(f"sqlite:///{tmp_path / 'ai_cs.db'}")
    shown = repr(ProcessingFlow(db, SystemClock(), settings))
    assert "ProcessingFlow(" in shown
    assert [name for name, value in CREDENTIALS.items() if value in shown] == []
