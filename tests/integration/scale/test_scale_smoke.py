"""A small run of the scale-out suite: real processes on a scratch PostgreSQL database.

Two API processes, two Procrastinate workers, the dispatch service and a gateway client; six
customers; a worker and an API process SIGKILLed and restarted, the gateway connection cut.
PostgreSQL is never restarted here (CI shares the server). Slow: run with ``make test-slow``.
"""

from __future__ import annotations

import os
from typing import Any

import psycopg
import pytest

from ai_cs.bench.scale import ScaleConfig, ScaleReport, ScaleRun

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


def _small_run(admin: str, **options: Any) -> ScaleReport:
    """A quiet run on the test PostgreSQL with short timeouts and the given options."""
    config = ScaleConfig(admin_url=admin, step_timeout=120.0, deadline=300.0, **options)
    return ScaleRun(config, echo=lambda _s: None).execute()


@pytest.mark.timeout(600)
def test_small_scale_run_loses_and_doubles_nothing() -> None:
    admin = _postgres_admin_url()
    report = _small_run(admin, customers=6, ramp_seconds=3.0, throughput_tasks=2)
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


@pytest.mark.timeout(600)
def test_small_scale_run_with_picture_jobs_quotes_every_picture_once() -> None:
    report = _small_run(
        _postgres_admin_url(), customers=4, ramp_seconds=2.0, picture_jobs=True, picture_batch=3
    )
    assert report.ledger.clean, report.ledger.details
    n = report.numbers
    assert n["customers_done"] == 4
    # The pictures went to the workers as jobs (one per picture), not into the gateway process.
    assert n["picture_jobs"] == n["picture_jobs_sources"] >= 4
    assert n["scale_text_reply_p99_ms"] > 0
    # Both throughput batches quoted every picture (a short batch leaves a note).
    assert n["pictures_1w_per_s"] > 0 and n["pictures_2w_per_s"] > 0
    assert not [note for note in report.notes if note.startswith("picture batch")]
    assert "scale_picture_quote_workers_2v1" in {r.bench for r in report.results()}
