"""Fixtures for the agent's integration tests: a handler on a fresh database, pictures, a chat."""

from __future__ import annotations

import functools
import http.server
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_support import Chat, product_picture, save
from pydantic_ai.models import override_allow_model_requests
from typer.testing import CliRunner

from ai_cs.agent.handler import AgentHandler
from ai_cs.imaging.ocr import StaticOcr
from ai_cs.workflow import Workflow
from loopback_http import QuietHandler, serving


@pytest.fixture(autouse=True)
def _no_real_models() -> Iterator[None]:
    """No test here may reach a real model (pydantic-ai's testing switch)."""
    with override_allow_model_requests(False):
        yield


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    """A generated product picture on disk."""
    return save(product_picture(), tmp_path / "pictures" / "bottle.png")


@pytest.fixture
def handler(fixed_workflow: Workflow) -> AgentHandler:
    """The agent handler on a fresh database; no OCR model, local pictures allowed."""
    return AgentHandler(fixed_workflow, ocr=StaticOcr(), allow_local_files=True)


@pytest.fixture
def chat(handler: AgentHandler) -> Chat:
    """customer_123 in conversation conv_123."""
    return Chat(handler)


# --- a loopback HTTP server for pictures ----------------------------------------------------------
class _Quiet(QuietHandler, http.server.SimpleHTTPRequestHandler):
    """Files of a directory, without a log line per request."""


@pytest.fixture
def picture_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``(base_url, directory)`` of an HTTP server on 127.0.0.1 serving ``directory``."""
    root = tmp_path / "served"
    root.mkdir()
    with serving(functools.partial(_Quiet, directory=str(root))) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}", root


@pytest.fixture
def runner(db_runner: CliRunner) -> CliRunner:
    """``aics`` on this test's database and data directory."""
    return db_runner
