"""A small run of the scale-out suite: real processes on a scratch PostgreSQL database.

Two API processes, two Procrastinate workers, the dispatch service and a gateway client; six
customers; a worker and an API process SIGKILLed and restarted, the gateway connection cut.
PostgreSQL is never restarted here (CI shares the server). Slow: run with ``make test-slow``.
"""

from __future__ import annotations

import os

import psycopg
import pytest

from ai_cs.bench.scale import ScaleConfig, ScaleRun

pytestmark = pytest.mark.slow


def _postgres_admin_url() -> str:
    url = os.environ.get("AICS_TEST_POSTGRES_URL", "")
    if not url:
        pytest.skip("AICS_TEST_POSTGRES_URL is not set")
    try:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)):
            pass
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    return url


@pytest.mark.timeout(600)
def test_small_scale_run_loses_and_doubles_nothing() -> None:
    admin = _postgres_admin_url()
    config = ScaleConfig(
        admin_url=admin,
        customers=6,
        ramp_seconds=3.0,
        throughput_tasks=2,
        step_timeout=120.0,
        deadline=300.0,
    )
    report = ScaleRun(config, echo=lambda _s: None).execute()
    assert report.ledger.clean, report.ledger.details
    assert report.numbers["customers_done"] == 6
    assert report.numbers["tasks_completed"] == 6
    assert report.numbers["api_failed"] == 0
    assert any("SIGKILL worker-1" in note for note in report.notes)
    assert report.numbers["throughput_2w_1_tasks_per_s"] > 0
    with psycopg.connect(admin.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname LIKE %s",
            (f"aics_scale_{os.getpid()}_%",),
        ).fetchone()
    assert left is not None and left[0] == 0  # the scratch database was dropped
