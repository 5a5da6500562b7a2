"""Deadlines: a claimed job past its deadline gets one reminder per claim, from the loop too."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from dispatch_helpers import LiveServer, create_jobs, free_port, wait_for

from ai_cs.auth.service import create_key
from ai_cs.clock import FixedClock
from ai_cs.config import Settings
from ai_cs.dispatch import service
from ai_cs.dispatch.app import DispatchOptions, create_dispatch_app
from ai_cs.dispatch.delivery import record_reminders
from ai_cs.dispatch.rules import CLAIM_DEADLINE_SECONDS
from ai_cs.workflow import Workflow


@pytest.fixture
def designer_http(
    settings: Settings, fixed_workflow: Workflow, clock: FixedClock
) -> Iterator[httpx.Client]:
    """The dispatch service on the fixed clock with a fast reminder loop; a designer's client."""
    with fixed_workflow.db.write() as session:
        key = create_key(session, clock, name="设计师", scope="designer")
    server = LiveServer(
        lambda: create_dispatch_app(
            settings,
            db=fixed_workflow.db,
            clock=clock,
            options=DispatchOptions(reminder_interval=0.05, poll_interval=0.2),
        ),
        free_port(),
    ).start()
    try:
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as http:
            yield http
    finally:
        server.stop()


def test_one_reminder_per_overdue_claim(fixed_workflow: Workflow, clock: FixedClock) -> None:
    db = fixed_workflow.db
    late, on_time, unclaimed = create_jobs(fixed_workflow, clock, 3)
    db.run_write(lambda s: service.claim_job(s, clock, late, "小王", "k1"))
    clock.advance(CLAIM_DEADLINE_SECONDS / 2)
    db.run_write(lambda s: service.claim_job(s, clock, on_time, "小李", "k2"))

    assert record_reminders(db, clock) == 0
    clock.advance(CLAIM_DEADLINE_SECONDS / 2 + 1)
    assert record_reminders(db, clock) == 1
    assert record_reminders(db, clock) == 0  # one per claim, not one per pass
    with db.read() as session:
        reminders = service.list_reminders(session)
        late_job = service.job_to_dict(service.load_job(session, late), clock.epoch(), "")
        assert (
            service.job_to_dict(service.load_job(session, unclaimed), clock.epoch(), "")["overdue"]
            is False
        )
        load = {w["designer"]: w for w in service.workload(session, clock.epoch())}
    assert [r["job_id"] for r in reminders] == [late]
    assert "小王" in reminders[0]["message"] and "已超过截止时间" in reminders[0]["message"]
    assert late_job["overdue"] is True and late_job["reminders"] == 1
    assert (load["小王"]["overdue"], load["小李"]["overdue"]) == (1, 0)

    # Released and claimed again: a new deadline, and a new reminder once it passes too.
    db.run_write(lambda s: service.release_job(s, clock, late, "小王", "k1"))
    db.run_write(lambda s: service.claim_job(s, clock, late, "小张", "k3"))
    clock.advance(CLAIM_DEADLINE_SECONDS / 2)
    assert record_reminders(db, clock) == 1  # on_time's deadline has now passed
    clock.advance(CLAIM_DEADLINE_SECONDS / 2 + 1)
    assert record_reminders(db, clock) == 1
    with db.read() as session:
        assert len(service.list_reminders(session)) == 3
        assert service.load_job(session, late).reminders == 2


def test_the_background_loop_records_reminders(
    designer_http: httpx.Client, fixed_workflow: Workflow, clock: FixedClock
) -> None:
    job_id = create_jobs(fixed_workflow, clock, 1)[0]
    claim = designer_http.post(f"/api/v1/jobs/{job_id}/claim", json={"designer": "小王"})
    assert claim.status_code == 200 and claim.json()["overdue"] is False
    clock.advance(CLAIM_DEADLINE_SECONDS + 60)
    reminders = wait_for(
        lambda: designer_http.get("/api/v1/reminders", params={"designer": "小王"}).json()["data"]
    )
    assert len(reminders) == 1 and reminders[0]["job_id"] == job_id
    job = designer_http.get(f"/api/v1/jobs/{job_id}").json()
    assert job["overdue"] is True and job["reminded_at"] is not None
