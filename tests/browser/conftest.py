"""Browser tests: the staff console in headless Chromium (Debian's package) driven by Playwright.

No browser is downloaded: Playwright starts the system ``chromium`` through its executable path.
When it is missing the set-up installs Debian's package with ``scripts/system-deps.sh`` (as
root); the tests skip, saying why, only when Chromium still cannot be found.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from ai_cs.api import create_app
from ai_cs.api.server import ThreadedServer
from ai_cs.auth.service import create_key
from ai_cs.config import Settings
from ai_cs.workflow import Workflow

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium")


def _find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return next((c for c in CANDIDATES if os.access(c, os.X_OK)), None)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The system Chromium, installed from Debian's package when missing and allowed."""
    found = _find_chromium()
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            ["bash", str(ROOT / "scripts" / "system-deps.sh"), "chromium"],
            check=False,
            timeout=900,
        )
        found = _find_chromium()
    if found is None:
        pytest.skip("Chromium not found: install Debian's package with `apt-get install chromium`")
    return found


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    """One headless Chromium per test module.

    Module scope, not session: Playwright's sync API keeps an event loop running while it is
    open, so it must be closed before another module starts its own ``sync_playwright()``.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page, in Chinese."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1600, "height": 1000})
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def workflow(database_url: str, settings: Settings) -> Iterator[Workflow]:
    """A workflow on a fresh database."""
    wf = Workflow(database_url=database_url, settings=settings)
    try:
        yield wf
    finally:
        wf.close()


@pytest.fixture
def staff_key(workflow: Workflow) -> str:
    """A staff key for logging in."""
    with workflow.db.write() as session:
        return create_key(session, workflow.clock, name="客服小王", scope="staff")


@pytest.fixture
def app(settings: Settings, workflow: Workflow) -> FastAPI:
    """The API and console app (the board polls every half second here)."""
    application = create_app(settings, workflow=workflow)
    application.state.console_poll_seconds = 0.5
    return application


@pytest.fixture
def base_url(app: FastAPI) -> Iterator[str]:
    """The console's server on a free loopback port."""
    with ThreadedServer(app) as server:
        yield server.url


@pytest.fixture
def login(page: Any, base_url: str, staff_key: str) -> Callable[[], None]:
    """Log the page in through the login form."""

    def run() -> None:
        page.goto(f"{base_url}/console/board")
        assert "/console/login" in page.url
        page.fill("#key", staff_key)
        page.click("button[type=submit].primary")
        page.wait_for_selector("#board")

    return run
