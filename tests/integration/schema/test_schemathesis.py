"""Schemathesis against both OpenAPI schemas on real servers over loopback (slow suite).

Every operation of the API (6060) and the dispatch service (8005) gets generated requests —
valid and invalid (schemathesis' positive and negative modes) — sent with an admin key: no
answer may be a 5xx, and every status answered must be documented on the operation
(``status_code_conformance``). Bounded: :data:`MAX_EXAMPLES` per operation and mode, a fixed
seed. Failures of all operations are collected and reported together.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import status_code_conformance

from ai_cs.api import create_app
from ai_cs.api.server import ThreadedServer
from ai_cs.auth.service import create_key
from ai_cs.config import Settings
from ai_cs.dispatch.app import create_dispatch_app
from ai_cs.dispatch.options import DispatchOptions
from ai_cs.workflow import Workflow

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance]


def _fuzz(base_url: str, key: str) -> list[str]:
    """Run every operation of the server's schema; the failures, one line each."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def run(case: schemathesis.Case) -> None:
                case.call_and_validate(
                    base_url=base_url, headers={"Authorization": f"Bearer {key}"}, checks=CHECKS
                )

            try:
                run()
            except Unsatisfiable:
                continue  # no invalid request exists for this operation (e.g. a bare path string)
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - all are reported
                first = " ".join(str(exc).split())[:400]
                failures.append(f"{operation.label} [{mode.value}]: {first}")
    return failures


def _key(workflow: Workflow) -> str:
    with workflow.db.write() as session:
        return create_key(session, workflow.clock, name="schemathesis", scope="admin")


def _check(serve: Callable[[], ThreadedServer], key: str) -> None:
    with serve() as server:
        failures = _fuzz(server.url, key)
    assert not failures, "\n".join(failures)


def test_api_schema_no_5xx_and_every_status_documented(
    settings: Settings, workflow: Workflow
) -> None:
    relaxed = settings.model_copy(update={"rate_limit_per_minute": 1_000_000})
    _check(lambda: ThreadedServer(create_app(relaxed, workflow=workflow)), _key(workflow))


def test_dispatch_schema_no_5xx_and_every_status_documented(
    settings: Settings, workflow: Workflow
) -> None:
    options = DispatchOptions(background=False)
    app = create_dispatch_app(settings, db=workflow.db, clock=workflow.clock, options=options)
    _check(lambda: ThreadedServer(app), _key(workflow))
