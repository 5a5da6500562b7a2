"""Metrics read from the database, and JSON log lines."""

from __future__ import annotations

import json
import logging

from ai_cs.config import Settings
from ai_cs.observability import JsonFormatter, metrics_text
from ai_cs.workflow import Workflow


def test_metrics_count_tasks_jobs_and_outbox(database_url: str, settings: Settings) -> None:
    wf = Workflow(database_url=database_url, settings=settings)
    for i in range(3):
        wf.create_image_task(f"c{i}", "https://xxx.com/a.jpg", "enhance")
    wf.trigger_processing_on_payment("c0", payment_id="P0")
    text = metrics_text(wf.db).decode()
    assert 'aics_tasks{status="pending"} 2.0' in text
    assert 'aics_tasks{status="processing"} 1.0' in text
    assert 'aics_jobs{status="embedded:queued"} 1.0' in text
    assert "aics_job_oldest_queued_seconds" in text


def test_log_lines_are_json_with_extras() -> None:
    record = logging.LogRecord("ai_cs.x", logging.INFO, __file__, 1, "task %s paid", ("T1",), None)
    record.task_id = "T1"
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "task T1 paid" and line["task_id"] == "T1" and line["level"] == "info"
