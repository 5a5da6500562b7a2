"""Two designers racing to claim the same job: exactly one wins, every round."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from dispatch_helpers import Shop, create_jobs

from ai_cs.dispatch import service
from ai_cs.errors import AicsError
from ai_cs.workflow import Workflow

HTTP_ROUNDS = 25
SERVICE_ROUNDS = 60
SERVICE_RACERS = 4


def new_job(staff: httpx.Client, n: int) -> str:
    response = staff.post(
        "/api/v1/jobs",
        json={
            "task_id": f"TASK_20260227_{n:03d}",
            "original_image": "https://xxx.com/image.jpg",
            "operation": "vectorize",
            "reason": "客户要求人工处理",
        },
        headers={"Idempotency-Key": f"race:{n}"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["job_id"])


def test_two_designers_claiming_one_job_over_http(shop: Shop) -> None:
    staff = shop.client("relay")
    racers = {"小王": shop.client("wang"), "小李": shop.client("li")}
    wins: Counter[str] = Counter()
    for n in range(HTTP_ROUNDS):
        job_id = new_job(staff, n)
        barrier = threading.Barrier(len(racers))

        def claim(
            item: tuple[str, httpx.Client], job_id: str = job_id, barrier: Any = barrier
        ) -> tuple[str, int, Any]:
            name, http = item
            barrier.wait()
            response = http.post(f"/api/v1/jobs/{job_id}/claim", json={"designer": name})
            return name, response.status_code, response.json()

        with ThreadPoolExecutor(len(racers)) as pool:
            answers = list(pool.map(claim, racers.items()))
        codes = sorted(code for _, code, _ in answers)
        assert codes == [200, 409], answers
        winner = next(name for name, code, _ in answers if code == 200)
        loser = next(body for _, code, body in answers if code == 409)
        assert loser["error"]["code"] == "job_already_claimed"
        job = staff.get(f"/api/v1/jobs/{job_id}").json()
        assert (job["status"], job["designer"]) == ("claimed", winner)
        wins[winner] += 1
    assert sum(wins.values()) == HTTP_ROUNDS


def test_many_designers_claiming_through_the_service(workflow: Workflow) -> None:
    clock = workflow.clock
    job_ids = create_jobs(workflow, clock, SERVICE_ROUNDS)

    def race(job_id: str) -> list[tuple[str, str]]:
        barrier = threading.Barrier(SERVICE_RACERS)

        def claim(i: int) -> tuple[str, str]:
            barrier.wait()
            try:
                workflow.db.run_write(
                    lambda s: service.claim_job(s, clock, job_id, f"designer{i}", f"key{i}")
                )
            except AicsError as exc:
                return f"designer{i}", exc.code
            return f"designer{i}", "won"

        with ThreadPoolExecutor(SERVICE_RACERS) as pool:
            return list(pool.map(claim, range(SERVICE_RACERS)))

    for job_id in job_ids:
        outcomes = race(job_id)
        won = [name for name, outcome in outcomes if outcome == "won"]
        assert len(won) == 1, outcomes
        assert sorted(o for _, o in outcomes if o != "won") == ["job_already_claimed"] * (
            SERVICE_RACERS - 1
        )
        with workflow.db.read() as session:
            assert service.load_job(session, job_id).designer == won[0]
