"""Fixtures for the Tianwang API tests: the app on a real loopback server, keys, tasks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from api_helpers import SHOP_A, move_task
from fastapi import FastAPI
from sqlalchemy import update

from ai_cs.api import create_app
from ai_cs.api.server import ThreadedServer
from ai_cs.config import Settings
from ai_cs.tasks.models import ImageTask
from ai_cs.workflow import Workflow
from factories import api_keys


@pytest.fixture
def keys(workflow: Workflow) -> dict[str, str]:
    """One key per scope; the partner key sees shop A only."""
    return api_keys(workflow, SHOP_A)


@pytest.fixture
def app(settings: Settings, workflow: Workflow) -> FastAPI:
    """The API app on the test's workflow."""
    return create_app(settings, workflow=workflow)


@pytest.fixture
def server(app: FastAPI) -> Iterator[ThreadedServer]:
    """The app served by uvicorn on a free loopback port."""
    with ThreadedServer(app) as running:
        yield running


@pytest.fixture
def client(server: ThreadedServer) -> Iterator[httpx.Client]:
    """An HTTP client of the live server (no redirects followed)."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


@pytest.fixture
def console(server: ThreadedServer, keys: dict[str, str]) -> Iterator[httpx.Client]:
    """A browser-like client of the live server, logged in to the console with the staff key."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.post("/console/login", data={"key": keys["staff"]}).status_code == 303
        yield http


@pytest.fixture
def make_task(workflow: Workflow) -> Callable[..., dict[str, Any]]:
    """Create a task (default shop A) and move it to ``status``."""

    def make(
        status: str = "pending",
        *,
        customer_id: str = "customer_123",
        acc_id: str = SHOP_A,
        **fields: Any,
    ) -> dict[str, Any]:
        task = workflow.create_image_task(
            customer_id,
            fields.pop("original_image", "https://xxx.com/image.jpg"),
            fields.pop("operation", "enhance"),
            acc_id=acc_id,
            acc_type="xianyu",
            price_fen=fields.pop("price_fen", 1500),
        )
        if fields:
            with workflow.db.write() as session:
                session.execute(
                    update(ImageTask).where(ImageTask.task_id == task["task_id"]).values(**fields)
                )
        move_task(workflow, task["task_id"], status)
        return workflow.get_task(task["task_id"])

    return make
