"""The outbox relay: several relays racing send each hand-off exactly once; failures back off."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from datetime import datetime
from typing import Any

import pytest
from dispatch_helpers import hand_off, paid_task, photo_png, store_original
from sqlalchemy import select

from ai_cs.clock import FixedClock
from ai_cs.db.models import OutboxMessage
from ai_cs.dispatch.client import DispatchRejected, DispatchUnavailable, RecordingDispatchClient
from ai_cs.dispatch.relay import deliver_due, run_relay
from ai_cs.tasks.handoff import enqueue_outbox
from ai_cs.workflow import Workflow

HAND_OFFS = 24
RELAYS = 4


def handed_tasks(workflow: Workflow, n: int) -> list[str]:
    original = store_original(workflow.settings, photo_png())
    ids = []
    for _ in range(n):
        task_id = paid_task(workflow, original, "enhance")
        hand_off(workflow, task_id, "质检未通过")
        ids.append(task_id)
    return ids


def outbox(workflow: Workflow) -> list[OutboxMessage]:
    with workflow.db.read() as session:
        return list(session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def test_racing_relays_send_each_hand_off_exactly_once(workflow: Workflow) -> None:
    tasks = handed_tasks(workflow, HAND_OFFS)
    with workflow.db.write() as session:  # another topic is not the relay's business
        enqueue_outbox(session, workflow.clock, topic="customer", key="notify:1", payload={})
    client = RecordingDispatchClient()
    barrier = threading.Barrier(RELAYS)
    errors: list[BaseException] = []

    def relay() -> None:
        try:
            barrier.wait()
            while deliver_due(workflow.db, workflow.clock, client, limit=5).attempted:
                pass
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=relay) for _ in range(RELAYS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    calls = Counter(client.calls)
    assert len(calls) == HAND_OFFS and set(calls.values()) == {1}, calls
    assert sorted(job["task_id"] for job in client.jobs.values()) == sorted(tasks)
    rows = {r.key: r for r in outbox(workflow)}
    assert rows.pop("notify:1").status == "pending"
    assert {(r.status, r.attempts) for r in rows.values()} == {("sent", 1)}
    assert all(r.sent_at for r in rows.values())


class Flaky(RecordingDispatchClient):
    """Fails the way it is told to, then works."""

    def __init__(self, failures: list[Exception]) -> None:
        super().__init__()
        self.failures = failures

    def create_job(self, payload: Any, *, idempotency_key: str) -> dict[str, Any]:
        if self.failures:
            raise self.failures.pop(0)
        return super().create_job(payload, idempotency_key=idempotency_key)


def test_failures_back_off_and_refusals_are_kept(workflow: Workflow) -> None:
    handed_tasks(workflow, 1)
    clock = FixedClock(datetime.now(workflow.settings.tz))
    flaky = Flaky([DispatchUnavailable("HTTP 503"), DispatchUnavailable("timeout")])
    delays: list[int] = []

    def backoff(attempts: int) -> float:
        delays.append(attempts)
        return 10.0 * attempts

    assert deliver_due(workflow.db, clock, flaky, backoff=backoff).retried == 1
    clock.advance(9)
    assert deliver_due(workflow.db, clock, flaky, backoff=backoff).attempted == 0
    clock.advance(2)
    assert deliver_due(workflow.db, clock, flaky, backoff=backoff).retried == 1
    (row,) = outbox(workflow)
    assert (row.status, row.attempts, row.last_error) == ("pending", 2, "timeout")
    clock.advance(21)
    assert deliver_due(workflow.db, clock, flaky, backoff=backoff).sent == 1
    assert delays == [1, 2]
    assert outbox(workflow)[0].status == "sent"

    handed_tasks(workflow, 1)
    refused = Flaky([DispatchRejected("HTTP 422 invalid_request: bad payload")])
    assert deliver_due(workflow.db, clock, refused).failed == 1
    failed = outbox(workflow)[1]
    assert failed.status == "failed" and "bad payload" in (failed.last_error or "")
    clock.advance(10_000)
    assert deliver_due(workflow.db, clock, refused).attempted == 0  # kept for staff, not resent


def test_a_relay_that_died_mid_send_leaves_the_row_due_after_the_lease(workflow: Workflow) -> None:
    handed_tasks(workflow, 1)
    clock = FixedClock(datetime.now(workflow.settings.tz))
    from ai_cs.dispatch.relay import claim
    from ai_cs.notify.outbox import LEASE_SECONDS

    (row,) = outbox(workflow)
    assert workflow.db.run_write(lambda s: claim(s, clock, row.id)) is not None  # then "crashes"
    client = RecordingDispatchClient()
    assert deliver_due(workflow.db, clock, client).attempted == 0
    clock.advance(LEASE_SECONDS + 1)
    assert deliver_due(workflow.db, clock, client).sent == 1
    assert outbox(workflow)[0].attempts == 2


@pytest.mark.anyio
async def test_the_relay_loop_delivers_and_stops(workflow: Workflow) -> None:
    client = RecordingDispatchClient()
    stop = asyncio.Event()
    loop = asyncio.create_task(
        run_relay(workflow.db, workflow.clock, client, interval=0.05, stop=stop)
    )
    await asyncio.to_thread(handed_tasks, workflow, 2)
    for _ in range(200):
        if len(client.jobs) == 2:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(loop, 5)
    assert len(client.jobs) == 2


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
