"""The callback endpoint on 6060 refuses forged, stale and unsigned requests over HTTP."""

from __future__ import annotations

import json
import random
import time

import httpx
from dispatch_helpers import Shop
from sqlalchemy import func, select

from ai_cs.core.signing import SCHEME, TOLERANCE_SECONDS, sign_headers, signature
from ai_cs.dispatch.callback import CALLBACK_PATH
from ai_cs.dispatch.config import callback_secret
from ai_cs.dispatch.models import DispatchCallbackEvent

HTTP_FORGERIES = 300


def callback_body(task_id: str = "TASK_20260227_404") -> bytes:
    return json.dumps(
        {
            "event_id": "evt-1",
            "job_id": "JOB_1",
            "task_id": task_id,
            "designer": "小王",
            "result_url": "http://127.0.0.1:1/api/v1/jobs/JOB_1/result",
            "finished_at": "2026-02-27T18:00:00.000000+08:00",
        }
    ).encode()


def test_forged_signatures_over_http_are_refused_and_change_nothing(shop: Shop) -> None:
    rng = random.Random(8005)
    body = callback_body()
    secret = callback_secret(shop.settings)
    with httpx.Client(base_url=shop.api.url, timeout=30) as api:
        started = time.perf_counter()
        for i in range(HTTP_FORGERIES):
            stamp = str(int(time.time()))
            if i % 3 == 0:
                sig = SCHEME + rng.randbytes(32).hex()
            elif i % 3 == 1:
                sig = SCHEME + signature(rng.randbytes(16), stamp, body)
            else:  # a valid signature of another body
                sig = SCHEME + signature(secret, stamp, body + b" ")
            response = api.post(
                CALLBACK_PATH,
                content=body,
                headers={"X-Tuhui-Timestamp": stamp, "X-Tuhui-Signature": sig},
            )
            assert response.status_code == 401, response.text
            assert response.json()["error"]["code"] == "invalid_signature"
        elapsed = time.perf_counter() - started
        unsigned = api.post(CALLBACK_PATH, content=body)
        assert unsigned.status_code == 401
        assert elapsed < 60
    with shop.workflow.db.read() as session:
        assert (
            session.execute(select(func.count()).select_from(DispatchCallbackEvent)).scalar_one()
            == 0
        )


def test_the_timestamp_tolerance_is_300_seconds_either_way(shop: Shop) -> None:
    body = callback_body()
    secret = callback_secret(shop.settings)
    with httpx.Client(base_url=shop.api.url, timeout=30) as api:
        for offset in (TOLERANCE_SECONDS + 5, -(TOLERANCE_SECONDS + 5)):
            headers = sign_headers(secret, body, time.time() + offset)
            stale = api.post(CALLBACK_PATH, content=body, headers=headers)
            assert stale.status_code == 401
            assert stale.json()["error"]["code"] == "stale_timestamp"
        for offset in (TOLERANCE_SECONDS - 30, -(TOLERANCE_SECONDS - 30)):
            headers = sign_headers(secret, body, time.time() + offset)
            inside = api.post(CALLBACK_PATH, content=body, headers=headers)
            # Past the signature check: the (made-up) task is simply not there.
            assert inside.status_code == 404, inside.text
            assert inside.json()["error"]["code"] == "task_not_found"


def test_bad_bodies_behind_a_good_signature_are_4xx_not_500(shop: Shop) -> None:
    secret = callback_secret(shop.settings)
    bodies = [b"", b"not json", b"[]", b'{"event_id": 1}', json.dumps({"x": "y" * 100}).encode()]
    with httpx.Client(base_url=shop.api.url, timeout=30) as api:
        for body in bodies:
            answer = api.post(
                CALLBACK_PATH, content=body, headers=sign_headers(secret, body, time.time())
            )
            assert answer.status_code == 422, (body, answer.text)
            assert answer.json()["error"]["code"] == "invalid_argument"
        huge = b"x" * (70 * 1024)
        too_big = api.post(
            CALLBACK_PATH, content=huge, headers=sign_headers(secret, huge, time.time())
        )
        assert too_big.status_code == 413
