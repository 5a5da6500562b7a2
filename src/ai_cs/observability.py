"""Metrics (Prometheus text format at ``GET /metrics``) and structured JSON logs.

Metrics are read from the database at scrape time, so every API process reports the same
numbers whichever of them the scraper reaches, and nothing is lost when a process restarts:

- ``aics_tasks{status}`` — tasks by status;
- ``aics_jobs{status}`` — embedded queue jobs by status (and Procrastinate's on PostgreSQL);
- ``aics_job_oldest_queued_seconds`` — age of the oldest due job (queue lag);
- ``aics_job_latency_seconds{quantile}`` — paid → result (``paid_at`` → result) over the last
  200 finished tasks;
- ``aics_engine_failed_attempts`` — failed processing attempts recorded on open tasks;
- ``aics_outbox_pending{topic}`` — messages to outside systems not yet delivered (dispatch lag);
- ``aics_gateway_inbox_unprocessed`` — marketplace events stored but not yet handled.

Who may read them is ``AICS_METRICS``: ``off``, ``local`` (the default: clients on a loopback
address, and not through a reverse proxy — a request carrying ``X-Forwarded-For`` or
``Forwarded`` came from somewhere else even if the proxy connects from loopback) or ``key`` (a
bearer key of scope ``metrics``, ``staff`` or ``admin``).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from ai_cs.auth.service import Scope
from ai_cs.config import Settings
from ai_cs.db.database import Database
from ai_cs.db.models import Job, OutboxMessage
from ai_cs.errors import Forbidden, NotFound
from ai_cs.tasks.models import ImageTask
from ai_cs.web.deps import authenticate_key, bearer_token


class DatabaseCollector(Collector):
    """Collects the shop's gauges from the database on every scrape."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        """Yield every gauge (a failing query yields what it could, never raises)."""
        try:
            yield from self._collect()
        except SQLAlchemyError:
            logging.getLogger(__name__).warning("metrics query failed", exc_info=True)

    def _collect(self) -> Iterator[Metric]:
        with self.db.read() as s:
            tasks = GaugeMetricFamily("aics_tasks", "Tasks by status.", labels=["status"])
            for status, n in s.execute(
                select(ImageTask.status, func.count()).group_by(ImageTask.status)
            ):
                tasks.add_metric([str(status)], float(n))
            yield tasks

            jobs = GaugeMetricFamily("aics_jobs", "Queue jobs by status.", labels=["status"])
            for status, n in s.execute(select(Job.status, func.count()).group_by(Job.status)):
                jobs.add_metric([f"embedded:{status}"], float(n))
            tables = set(inspect(s.get_bind()).get_table_names())
            if "procrastinate_jobs" in tables:
                for status, n in s.execute(
                    text("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY 1")
                ):
                    jobs.add_metric([f"procrastinate:{status}"], float(n))
            yield jobs

            oldest = s.execute(
                select(func.min(Job.run_after)).where(Job.status == "queued")
            ).scalar_one_or_none()
            lag = max(0.0, time.time() - float(oldest)) if oldest is not None else 0.0
            yield GaugeMetricFamily(
                "aics_job_oldest_queued_seconds", "Age of the oldest due job.", value=lag
            )

            rows = s.execute(
                select(ImageTask.paid_at, ImageTask.updated_at)
                .where(
                    ImageTask.paid_at.is_not(None),
                    ImageTask.result_image.is_not(None),
                )
                .order_by(ImageTask.updated_at.desc())
                .limit(200)
            ).all()
            durations = sorted(
                (datetime.fromisoformat(done) - datetime.fromisoformat(paid)).total_seconds()
                for paid, done in rows
                if paid and done
            )
            latency = GaugeMetricFamily(
                "aics_job_latency_seconds",
                "Paid to result, over the last 200 finished tasks.",
                labels=["quantile"],
            )
            for q in (0.5, 0.99):
                value = (
                    durations[min(len(durations) - 1, int(q * len(durations)))]
                    if durations
                    else 0.0
                )
                latency.add_metric([str(q)], value)
            yield latency

            failed = s.execute(
                select(func.coalesce(func.sum(ImageTask.retry_count), 0))
            ).scalar_one()
            yield GaugeMetricFamily(
                "aics_engine_failed_attempts",
                "Failed processing attempts recorded on tasks.",
                value=float(failed or 0),
            )

            outbox = GaugeMetricFamily(
                "aics_outbox_pending", "Undelivered outbox messages.", labels=["topic"]
            )
            for topic, n in s.execute(
                select(OutboxMessage.topic, func.count())
                .where(OutboxMessage.status != "sent")
                .group_by(OutboxMessage.topic)
            ):
                outbox.add_metric([str(topic)], float(n))
            yield outbox

            if "gateway_inbox" in tables:
                n = s.execute(
                    text("SELECT count(*) FROM gateway_inbox WHERE status != 'processed'")
                ).scalar_one()
                yield GaugeMetricFamily(
                    "aics_gateway_inbox_unprocessed",
                    "Marketplace events stored but not yet handled.",
                    value=float(n),
                )


def metrics_text(db: Database) -> bytes:
    """The Prometheus exposition of :class:`DatabaseCollector`."""
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(db))
    return generate_latest(registry)


router = APIRouter()


class MetricsOff(NotFound):
    """``AICS_METRICS=off``."""

    code = "metrics_off"


class MetricsNotLocal(Forbidden):
    """``AICS_METRICS=local`` and the request did not come from this machine directly."""

    code = "metrics_local_only"


def is_local_request(request: Request) -> bool:
    """A client on a loopback address that did not come through a forwarding proxy."""
    if request.headers.get("x-forwarded-for") or request.headers.get("forwarded"):
        return False
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_metrics_access(request: Request) -> None:
    """Raise unless ``AICS_METRICS`` lets this request read the metrics."""
    settings: Settings = request.app.state.settings
    if settings.metrics == "off":
        raise MetricsOff("metrics are off (AICS_METRICS=off)")
    if settings.metrics == "local":
        if not is_local_request(request):
            raise MetricsNotLocal(
                "metrics are served to clients on this machine only (AICS_METRICS=local)"
            )
        return
    state = request.app.state
    principal = authenticate_key(state.db, state.clock, bearer_token(request))
    principal.require(Scope.METRICS, Scope.STAFF)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus metrics (aggregate counts only; no customer data), if AICS_METRICS allows."""
    check_metrics_access(request)
    return Response(metrics_text(request.app.state.db), media_type=CONTENT_TYPE_LATEST)


class JsonFormatter(logging.Formatter):
    """One JSON object per log line: time, level, logger, message, and any ``extra`` fields."""

    _skip = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message"}

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON."""
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created).astimezone().isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in self._skip:
                data[key] = value
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def configure_from_settings(log_format: str, level: str) -> None:
    """Logging for a long-running command (``AICS_LOG_FORMAT``, ``AICS_LOG_LEVEL``)."""
    json_logs = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    configure_logging(level.upper(), json_logs=json_logs)


def configure_logging(level: str = "INFO", *, json_logs: bool = True) -> None:
    """Send every log record (uvicorn's too) to stderr, as JSON lines or plain text."""
    handler = logging.StreamHandler(sys.stderr)
    if json_logs:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Alembic names its dialect on every start of every process; only its warnings matter.
    logging.getLogger("alembic").setLevel(logging.WARNING)
