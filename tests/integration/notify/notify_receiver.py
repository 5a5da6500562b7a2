"""A loopback HTTP server playing DingTalk, Feishu, WeCom and a webhook receiver.

It checks each request the way the real service does (its own implementation of each signing
scheme, not ai-cs's), answers in that service's shape, and keeps what it accepted. A channel
can be told to refuse the next N messages (DingTalk ``errcode`` 310000, Feishu ``code``
19021, HTTP 500 for the webhook), and the whole server can be stopped and started again on
the same port (a receiver that is down).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from ai_cs.api.server import ThreadedServer
from ai_cs.core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

SECRETS = {
    "dingtalk": "SECdingtalk-test-secret",
    "feishu": "feishu-test-secret",
    "webhook": "webhook-test-secret",
}

OK: dict[str, dict[str, Any]] = {
    "dingtalk": {"errcode": 0, "errmsg": "ok"},
    "feishu": {"code": 0, "msg": "success", "data": {}},
    "wecom": {"errcode": 0, "errmsg": "ok"},
    "webhook": {"ok": True},
}
"""What each service answers when it takes a message."""

BUSY: dict[str, tuple[int, dict[str, Any]]] = {
    "dingtalk": (200, {"errcode": 130101, "errmsg": "send too fast"}),
    "feishu": (200, {"code": 9499, "msg": "too many request"}),
    "wecom": (200, {"errcode": 45009, "errmsg": "api freq out of limit"}),
    "webhook": (503, {"error": "busy"}),
}
"""HTTP status and answer of each service when it refuses a message (rate limit, overload)."""


@dataclass
class Receiver:
    """What the fake services saw."""

    now_epoch: float
    accepted: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {c: [] for c in ("dingtalk", "feishu", "wecom", "webhook")}
    )
    refused: dict[str, int] = field(default_factory=dict)
    refuse_next: dict[str, int] = field(default_factory=dict)
    bad_signatures: list[str] = field(default_factory=list)

    def _refusing(self, channel: str) -> bool:
        if self.refuse_next.get(channel, 0) > 0:
            self.refuse_next[channel] -= 1
            self.refused[channel] = self.refused.get(channel, 0) + 1
            return True
        return False

    def _take(self, channel: str, body: dict[str, Any]) -> Response:
        """Refuse as the service does when the channel is told to, else keep ``body``."""
        if self._refusing(channel):
            status, busy = BUSY[channel]
            return JSONResponse(busy, status_code=status)
        self.accepted[channel].append(body)
        return JSONResponse(OK[channel])

    def app(self) -> FastAPI:
        """The fake services on one app, one path each."""
        app = FastAPI()

        @app.post("/robot/send")
        async def dingtalk(request: Request) -> Response:
            ts = request.query_params.get("timestamp", "")
            secret = SECRETS["dingtalk"]
            expected = base64.b64encode(
                hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
            ).decode()
            fresh = ts.isdigit() and abs(int(ts) / 1000 - self.now_epoch) < 3600
            if request.query_params.get("access_token") != "ding-token" or not (
                fresh and hmac.compare_digest(expected, request.query_params.get("sign", ""))
            ):
                self.bad_signatures.append("dingtalk")
                return JSONResponse({"errcode": 310000, "errmsg": "sign not match"})
            return self._take("dingtalk", json.loads(await request.body()))

        @app.post("/open-apis/bot/v2/hook/feishu-hook")
        async def feishu(request: Request) -> Response:
            body = json.loads(await request.body())
            ts = str(body.get("timestamp", ""))
            key = f"{ts}\n{SECRETS['feishu']}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            fresh = ts.isdigit() and abs(int(ts) - self.now_epoch) < 3600
            if not (fresh and hmac.compare_digest(expected, str(body.get("sign", "")))):
                self.bad_signatures.append("feishu")
                return JSONResponse(
                    {
                        "code": 19021,
                        "msg": "sign match fail or timestamp is not within one hour",
                    }
                )
            return self._take("feishu", body)

        @app.post("/cgi-bin/webhook/send")
        async def wecom(request: Request) -> Response:
            if request.query_params.get("key") != "wecom-key":
                return JSONResponse({"errcode": 93000, "errmsg": "invalid webhook url"})
            return self._take("wecom", json.loads(await request.body()))

        @app.post("/hooks/aics")
        async def webhook(request: Request) -> Response:
            raw = await request.body()
            try:
                verify(
                    SECRETS["webhook"].encode(),
                    request.headers.get(TIMESTAMP_HEADER),
                    request.headers.get(SIGNATURE_HEADER),
                    raw,
                    self.now_epoch,
                )
            except Exception:  # noqa: BLE001 - any refusal is a bad signature here
                self.bad_signatures.append("webhook")
                return JSONResponse({"error": "bad signature"}, status_code=401)
            return self._take("webhook", json.loads(raw))

        return app


def channel_settings(base: str) -> dict[str, str]:
    """``AICS_NOTIFY_*`` settings pointing every channel at the receiver on ``base``."""
    return {
        "notify_dingtalk_url": f"{base}/robot/send?access_token=ding-token",
        "notify_dingtalk_secret": SECRETS["dingtalk"],
        "notify_feishu_url": f"{base}/open-apis/bot/v2/hook/feishu-hook",
        "notify_feishu_secret": SECRETS["feishu"],
        "notify_wecom_url": f"{base}/cgi-bin/webhook/send?key=wecom-key",
        "notify_webhook_url": f"{base}/hooks/aics",
        "notify_webhook_secret": SECRETS["webhook"],
    }


def serve(receiver: Receiver, port: int = 0) -> ThreadedServer:
    """The receiver on a loopback port (``port`` to come back on the same one)."""
    return ThreadedServer(receiver.app(), port=port).start()


@contextlib.contextmanager
def receiving() -> Iterator[tuple[Receiver, ThreadedServer]]:
    """A receiver whose clock is now, served on a loopback port until the block ends."""
    receiver = Receiver(now_epoch=time.time())
    server = serve(receiver)
    try:
        yield receiver, server
    finally:
        server.stop()
