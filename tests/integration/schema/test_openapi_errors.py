"""The OpenAPI of both servers lists the 4xx answers of every route, in the error shape.

The slow suite checks this against the running servers with schemathesis; this checks the
documents themselves on every run.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from ai_cs.api import create_app
from ai_cs.config import Settings
from ai_cs.dispatch.app import create_dispatch_app
from ai_cs.dispatch.callback import CALLBACK_PATH
from ai_cs.dispatch.options import DispatchOptions
from ai_cs.workflow import Workflow

ERROR_REF = "#/components/schemas/ErrorResponse"


def _operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    schema = app.openapi()
    return [
        (path, method, op)
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if isinstance(op, dict)
    ]


@pytest.fixture
def api(settings: Settings, workflow: Workflow) -> FastAPI:
    return create_app(settings, workflow=workflow)


@pytest.fixture
def dispatch(settings: Settings, workflow: Workflow) -> FastAPI:
    options = DispatchOptions(background=False)
    return create_dispatch_app(settings, db=workflow.db, clock=workflow.clock, options=options)


def _check(app: FastAPI, *, rate_limited: bool, public: tuple[str, ...] = ()) -> int:
    checked = 0
    for path, method, op in _operations(app):
        codes = set(op["responses"])
        where = f"{method.upper()} {path}: {sorted(codes)}"
        if path.startswith("/api/") and path not in public:
            assert {"401", "403"} <= codes, where
            assert ("429" in codes) is rate_limited, where
            checked += 1
        if any(p["in"] == "path" for p in op.get("parameters", [])):
            assert "404" in codes, where
        if op.get("parameters") or "requestBody" in op:
            assert "422" in codes, where
        if "requestBody" in op:
            assert "413" in codes, where
        for code, response in op["responses"].items():
            if code.startswith("4"):
                content = response["content"]["application/json"]["schema"]
                assert content == {"$ref": ERROR_REF}, (where, code)
    return checked


def test_every_api_route_documents_its_errors(api: FastAPI) -> None:
    assert _check(api, rate_limited=True, public=(CALLBACK_PATH,)) >= 15
    spec = api.openapi()
    callback = set(spec["paths"][CALLBACK_PATH]["post"]["responses"])
    assert {"401", "404", "409", "413", "422"} <= callback
    assert {"404", "410"} <= set(spec["paths"]["/r/{token}"]["get"]["responses"])
    error = spec["components"]["schemas"]["ErrorResponse"]
    assert error["required"] == ["error"]


def test_every_dispatch_route_documents_its_errors(dispatch: FastAPI) -> None:
    assert _check(dispatch, rate_limited=False) >= 9
    paths = dispatch.openapi()["paths"]
    assert {"409", "415"} <= set(paths["/api/v1/jobs/{job_id}/finish"]["post"]["responses"])
    assert "409" in paths["/api/v1/jobs/{job_id}/claim"]["post"]["responses"]
