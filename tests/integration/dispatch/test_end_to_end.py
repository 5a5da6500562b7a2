"""A job automation gives up on goes to a human designer and the result comes back into the task.

Both servers run on loopback: the dispatch service (8005 role) and the API (6060 role), around
one database. The relay delivers the outbox, designers work through the dispatch API, and the
signed callback moves the task to ``awaiting_confirm`` with the designer's file.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from datetime import datetime
from typing import Any

import httpx
import pytest
from dispatch_helpers import (
    SVG_LOGO,
    Shop,
    cutout_png,
    hand_off,
    paid_task,
    store_original,
    wait_for,
)
from PIL import Image
from sqlalchemy import func, select

from ai_cs.clock import FixedClock
from ai_cs.core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_headers, signature
from ai_cs.db.models import OutboxMessage
from ai_cs.dispatch.app import DispatchOptions
from ai_cs.dispatch.callback import CALLBACK_PATH
from ai_cs.dispatch.client import DispatchUnavailable, HttpDispatchClient
from ai_cs.dispatch.config import callback_secret
from ai_cs.dispatch.models import DispatchCallback, DispatchCallbackEvent, DispatchJob
from ai_cs.dispatch.relay import deliver_due
from ai_cs.engines import run_engine
from ai_cs.engines.vector_output import svg_to_pdf
from ai_cs.errors import QualityCheckFailed
from ai_cs.jobs.embedded import backoff_seconds
from ai_cs.processing.storage import LocalStorage


def flat_picture() -> bytes:
    """A picture with no subject: the cut-out engine fails its quality check on it."""
    buffer = io.BytesIO()
    Image.new("RGB", (160, 120), (180, 180, 180)).save(buffer, "PNG")
    return buffer.getvalue()


def failed_engine_hand_off(shop: Shop) -> tuple[str, bytes]:
    """Create and pay a task, run the real engine (it fails), hand the task to a designer."""
    original_bytes = flat_picture()
    original = store_original(shop.settings, original_bytes)
    task_id = paid_task(shop.workflow, original, "remove_bg")
    with pytest.raises(QualityCheckFailed) as failed:
        run_engine("remove_bg", original)
    handed = hand_off(shop.workflow, task_id, f"自动处理失败：{failed.value.message}")
    assert handed["status"] == "with_designer"
    return task_id, original_bytes


def count(shop: Shop, model: Any, *where: Any) -> int:
    with shop.workflow.db.read() as session:
        return int(
            session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()
        )


def jobs_of(designer: httpx.Client, task_id: str) -> list[dict[str, Any]]:
    response = designer.get("/api/v1/jobs", params={"task_id": task_id})
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def claim_and_finish(
    designer: httpx.Client, name: str, job_id: str, result: bytes
) -> dict[str, Any]:
    claimed = designer.post(f"/api/v1/jobs/{job_id}/claim", json={"designer": name})
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["status"] == "claimed"
    finished = designer.post(
        f"/api/v1/jobs/{job_id}/finish",
        data={"designer": name},
        files={"result": ("cutout.png", result, "image/png")},
    )
    assert finished.status_code == 200, finished.text
    body: dict[str, Any] = finished.json()
    assert body["status"] == "done"
    return body


def task_status(shop: Shop, task_id: str) -> str:
    return str(shop.workflow.get_task(task_id)["status"])


def test_failed_job_goes_to_designer_once_and_the_result_comes_back(shop: Shop) -> None:
    task_id, original_bytes = failed_engine_hand_off(shop)

    report = shop.relay()
    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    assert shop.relay().attempted == 0  # nothing left: the row is sent, not sent again

    wang = shop.client("wang")
    open_jobs = wang.get("/api/v1/jobs", params={"status": "open"}).json()
    assert open_jobs["count"] == 1
    job = open_jobs["data"][0]
    assert job["task_id"] == task_id
    assert job["operation"] == "remove_bg"
    assert job["reason"].startswith("自动处理失败：") and "quality check" in job["reason"]
    assert job["analysis"]["complexity"] == "complex"
    assert job["quote"]["total_fen"] == 2500
    assert "背景去干净" in job["customer_notes"]
    assert job["job_id"] == report.job_ids[0]

    original = wang.get(f"/api/v1/jobs/{job['job_id']}/original")
    assert original.status_code == 200
    assert original.content == original_bytes
    assert original.headers["content-type"] == "image/png"

    result = cutout_png()
    done = claim_and_finish(wang, "小王", job["job_id"], result)
    assert done["result_sha256"] == hashlib.sha256(result).hexdigest()

    wait_for(lambda: task_status(shop, task_id) == "awaiting_confirm")
    task = shop.workflow.get_task(task_id)
    # Stored like an engine's result: a content-addressed key in the worker's result storage.
    assert (
        task["result_image"] == f"results/{done['result_sha256'][:2]}/{done['result_sha256']}.png"
    )
    assert LocalStorage(shop.settings.data_dir).get(task["result_image"]) == result
    assert task["error_message"] is None
    assert task["completed_at"] is None  # set when the customer confirms, not before

    # The callback arrived signed: the recorded request verifies with the shared secret.
    assert len(shop.callbacks) == 1
    headers, body = shop.callbacks[0]
    stamp = headers[TIMESTAMP_HEADER.lower()]
    assert abs(int(stamp) - time.time()) < 60
    assert headers[SIGNATURE_HEADER.lower()] == "sha256=" + signature(
        callback_secret(shop.settings), stamp, body
    )
    sent = json.loads(body)
    assert (sent["job_id"], sent["task_id"], sent["designer"]) == (job["job_id"], task_id, "小王")
    assert datetime.fromisoformat(sent["finished_at"]).tzinfo is not None

    wait_for(lambda: wang.get(f"/api/v1/jobs/{job['job_id']}").json()["callback_status"] == "sent")
    assert count(shop, DispatchCallback) == 1
    assert count(shop, DispatchCallbackEvent) == 1
    assert count(shop, DispatchJob, DispatchJob.task_id == task_id) == 1

    confirmed = shop.workflow.confirm_task(task_id, "customer_123")
    assert confirmed["status"] == "completed"


class AnswerLost:
    """A client whose first request reaches the service but whose answer is lost."""

    def __init__(self, real: HttpDispatchClient) -> None:
        self.real = real
        self.lost = 0

    def create_job(self, payload: Any, *, idempotency_key: str) -> dict[str, Any]:
        job = self.real.create_job(payload, idempotency_key=idempotency_key)
        if self.lost == 0:
            self.lost += 1
            raise DispatchUnavailable("connection reset after the request was sent")
        return job

    def fetch_result(self, result_url: str) -> bytes:
        return self.real.fetch_result(result_url)


def test_dispatch_down_for_a_while_loses_and_doubles_nothing(shop: Shop) -> None:
    shop.dispatch.stop()
    tasks = [failed_engine_hand_off(shop)[0] for _ in range(2)]
    relay_clock = FixedClock(datetime.now(shop.settings.tz))

    first = shop.relay(relay_clock)
    assert (first.sent, first.retried) == (0, 2)
    with shop.workflow.db.read() as session:
        rows = session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()
        assert [(r.status, r.attempts) for r in rows] == [("pending", 1), ("pending", 1)]
        assert all(r.last_error and "unreachable" in r.last_error for r in rows)
        assert all(r.next_attempt_at >= relay_clock.epoch() + backoff_seconds(1) for r in rows)
    assert shop.relay(relay_clock).attempted == 0  # backing off: not retried early

    relay_clock.advance(backoff_seconds(1) + 1)
    assert shop.relay(relay_clock).retried == 2

    shop.dispatch.start()
    relay_clock.advance(backoff_seconds(2) + 1)
    assert shop.relay(relay_clock).sent == 2
    relay_clock.advance(3600)
    assert shop.relay(relay_clock).attempted == 0

    wang = shop.client("wang")
    for task_id in tasks:
        assert len(jobs_of(wang, task_id)) == 1

    # A request that reached the service but whose answer was lost is sent again with the same
    # idempotency key and finds the same job.
    third = failed_engine_hand_off(shop)[0]
    losing = AnswerLost(shop.relay_client)
    assert deliver_due(shop.workflow.db, relay_clock, losing).retried == 1
    relay_clock.advance(backoff_seconds(1) + 1)
    assert deliver_due(shop.workflow.db, relay_clock, losing).sent == 1
    assert len(jobs_of(wang, third)) == 1
    with shop.workflow.db.read() as session:
        statuses = session.execute(select(OutboxMessage.status, OutboxMessage.attempts)).all()
        assert sorted(statuses) == [("sent", 2), ("sent", 3), ("sent", 3)]

    # Now the API is down when the designer finishes: the callback waits in the outbox.
    shop.api.stop()
    job = jobs_of(wang, tasks[0])[0]
    result = cutout_png(colour=(200, 100, 20))
    claim_and_finish(wang, "小王", job["job_id"], result)

    def attempts() -> int:
        with shop.workflow.db.read() as session:
            row = session.execute(select(DispatchCallback)).scalar_one()
            return row.attempts if row.status == "pending" and row.last_error else 0

    wait_for(lambda: attempts() >= 2)
    assert task_status(shop, tasks[0]) == "with_designer"

    shop.api.start()
    wait_for(lambda: task_status(shop, tasks[0]) == "awaiting_confirm")
    stored = shop.workflow.get_task(tasks[0])["result_image"]
    assert LocalStorage(shop.settings.data_dir).get(stored) == result
    wait_for(lambda: wang.get(f"/api/v1/jobs/{job['job_id']}").json()["callback_status"] == "sent")
    assert count(shop, DispatchCallbackEvent) == 1
    assert [task_status(shop, t) for t in tasks[1:]] == ["with_designer"]


def test_duplicated_and_replayed_callbacks_have_no_second_effect(shop: Shop) -> None:
    task_id, _ = failed_engine_hand_off(shop)
    assert shop.relay().sent == 1
    wang = shop.client("wang")
    job = jobs_of(wang, task_id)[0]
    claim_and_finish(wang, "小王", job["job_id"], cutout_png())
    wait_for(lambda: task_status(shop, task_id) == "awaiting_confirm")
    before = shop.workflow.get_task(task_id)
    results = sorted((shop.settings.data_dir / "results").rglob("*.png"))

    headers, body = shop.callbacks[0]
    signed = {k: v for k, v in headers.items() if k.startswith("x-tuhui-")}
    secret = callback_secret(shop.settings)
    with httpx.Client(base_url=shop.api.url, timeout=30) as api:
        replay = api.post(
            CALLBACK_PATH, content=body, headers={**signed, "Content-Type": "application/json"}
        )
        assert replay.status_code == 200, replay.text
        assert replay.json()["duplicate"] is True
        fresh = sign_headers(secret, body, time.time())
        again = api.post(
            CALLBACK_PATH, content=body, headers={**fresh, "Content-Type": "application/json"}
        )
        assert again.status_code == 200 and again.json()["duplicate"] is True

    after = shop.workflow.get_task(task_id)
    assert after == before
    assert sorted((shop.settings.data_dir / "results").rglob("*.png")) == results
    assert count(shop, DispatchCallbackEvent) == 1
    history = shop.workflow.get_task_requirement_history(task_id)
    assert len(history) == 0


def test_copies_of_one_callback_racing_apply_once(make_shop: Any) -> None:
    # The dispatch service's own sender is off: this test posts the callback itself.
    shop = make_shop(DispatchOptions(background=False))
    task_id, _ = failed_engine_hand_off(shop)
    assert shop.relay().sent == 1
    wang = shop.client("wang")
    job = jobs_of(wang, task_id)[0]
    claim_and_finish(wang, "小王", job["job_id"], cutout_png())
    with shop.workflow.db.read() as session:
        body = session.execute(select(DispatchCallback.body)).scalar_one().encode()
    secret = callback_secret(shop.settings)

    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    copies = 6
    barrier = Barrier(copies)

    def post(_index: int) -> httpx.Response:
        with httpx.Client(base_url=shop.api.url, timeout=60) as api:
            barrier.wait()
            return api.post(
                CALLBACK_PATH,
                content=body,
                headers={
                    **sign_headers(secret, body, time.time()),
                    "Content-Type": "application/json",
                },
            )

    with ThreadPoolExecutor(copies) as pool:
        answers = list(pool.map(post, range(copies)))
    assert [a.status_code for a in answers] == [200] * copies, [a.text for a in answers]
    applied = [a.json() for a in answers if a.json()["duplicate"] is False]
    assert len(applied) == 1
    assert applied[0]["status"] == "awaiting_confirm"
    assert count(shop, DispatchCallbackEvent) == 1
    assert task_status(shop, task_id) == "awaiting_confirm"


def test_a_designer_delivers_the_formats_the_order_asked(shop: Shop) -> None:
    """A vectorize order for SVG + PDF: the designer sees it, a lone SVG is refused at once, the
    ZIP of both comes back into the task (checked again by the API, the SVG in it cleaned)."""
    original = store_original(shop.settings, flat_picture())
    task_id = paid_task(shop.workflow, original, "vectorize", output={"format": "svg,pdf"})
    hand_off(shop.workflow, task_id, "客户要矢量文件：自动描图线条太乱")
    assert shop.relay().sent == 1

    wang = shop.client("wang")
    (job,) = jobs_of(wang, task_id)
    assert job["deliver_as"] == "SVG + PDF（打包成一个 ZIP，每种一个文件）"
    assert wang.post(f"/api/v1/jobs/{job['job_id']}/claim", json={"designer": "小王"}).is_success

    def finish(data: bytes, name: str) -> httpx.Response:
        return wang.post(
            f"/api/v1/jobs/{job['job_id']}/finish",
            data={"designer": "小王"},
            files={"result": (name, data, "application/octet-stream")},
        )

    alone = finish(SVG_LOGO, "logo.svg")
    assert alone.status_code == 422
    assert alone.json()["error"]["code"] == "wrong_result_format"
    assert "SVG / PDF in one ZIP" in alone.json()["error"]["message"]

    pdf = svg_to_pdf(SVG_LOGO)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("logo.svg", SVG_LOGO)
        archive.writestr("logo.pdf", pdf)
    done = finish(buffer.getvalue(), "logo.zip")
    assert done.status_code == 200, done.text
    assert done.json()["result_mime"] == "application/zip"

    wait_for(lambda: task_status(shop, task_id) == "awaiting_confirm")
    task = shop.workflow.get_task(task_id)
    assert task["result_image"].endswith(".zip")
    stored = LocalStorage(shop.settings.data_dir).get(task["result_image"])
    with zipfile.ZipFile(io.BytesIO(stored)) as archive:
        assert archive.read("logo.pdf") == pdf
        svg = archive.read("logo.svg")
    assert b"<circle" in svg and b"<script" not in svg
