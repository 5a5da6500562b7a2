"""The dispatch service (图绘派单, "Tuhui") on 8005: :func:`create_dispatch_app`.

One FastAPI app with the JSON API for designers and ai-cs, the designer page at ``/``, and two
background loops started with the app: callback delivery (woken at once when a job is finished,
otherwise every :attr:`DispatchOptions.poll_interval` seconds) and overdue reminders.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import anyio.to_thread
import httpx
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError

from ai_cs.clock import Clock, SystemClock
from ai_cs.config import Settings
from ai_cs.db.database import Database
from ai_cs.db.migrate import upgrade
from ai_cs.dispatch.config import api_base_url, callback_secret, dispatch_base_url
from ai_cs.dispatch.delivery import deliver_callbacks, record_reminders
from ai_cs.dispatch.options import FORM_OVERHEAD_BYTES, PACKAGE_DIR, DispatchOptions
from ai_cs.processing.storage import LocalStorage
from ai_cs.web.errors import install_error_handlers
from ai_cs.web.headers import NoSniff
from ai_cs.web.keyfirst import KeyBeforeBody
from ai_cs.web.limits import BodySizeLimit
from ai_cs.web.openapi import document_errors

log = logging.getLogger(__name__)


def create_dispatch_app(
    settings: Settings,
    *,
    db: Database | None = None,
    clock: Clock | None = None,
    options: DispatchOptions | None = None,
) -> FastAPI:
    """The dispatch service app; it uses ``db`` (default: the configured database, migrated).

    The app keeps ``settings``, ``db``, ``clock`` and ``options`` on ``app.state``. A database
    made here is disposed when the app shuts down; one passed in belongs to the caller.
    """
    opts = options or DispatchOptions()
    owns_db = db is None
    database = db or Database(
        settings.resolved_database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
    )
    upgrade(database)
    the_clock: Clock = clock or SystemClock(settings.tz)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks: list[asyncio.Task[None]] = []
        http = httpx.Client(timeout=opts.callback_timeout, trust_env=False)
        if opts.background:
            tasks.append(asyncio.create_task(_callback_loop(app, http), name="dispatch-callbacks"))
            tasks.append(asyncio.create_task(_reminder_loop(app), name="dispatch-reminders"))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with suppress(asyncio.CancelledError):
                    await task
            http.close()
            if owns_db:
                database.dispose()

    app = FastAPI(
        title="ai-cs dispatch (图绘派单)",
        version="1",
        summary="Jobs for human designers: list, claim, release, finish with a result.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.clock = the_clock
    app.state.options = opts
    app.state.public_url = (opts.public_url or dispatch_base_url(settings)).rstrip("/")
    app.state.api_url = (opts.api_url or api_base_url(settings)).rstrip("/")
    # Uploaded results: content-addressed under DATA_DIR/dispatch/results, apart from the
    # results that reach customers (the API stores its own checked copy).
    app.state.result_storage = LocalStorage(settings.data_dir / "dispatch")
    app.state.wake = asyncio.Event()
    install_error_handlers(app)
    # Every body is counted as it arrives and refused past the largest upload a designer may
    # make (JSON far smaller), before routing and so before the key is checked.
    # Keys before bodies: every /api/v1 route is keyed; 401 comes before any body is read.
    app.add_middleware(KeyBeforeBody)
    app.add_middleware(BodySizeLimit, max_upload_bytes=opts.max_result_bytes + FORM_OVERHEAD_BYTES)
    app.add_middleware(NoSniff)

    from ai_cs.dispatch.routes import page_router, router

    app.include_router(router)
    app.include_router(page_router)
    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "static"), name="static")
    document_errors(app)
    return app


async def _callback_loop(app: FastAPI, http: httpx.Client) -> None:
    state = app.state
    opts: DispatchOptions = state.options
    wake: asyncio.Event = state.wake
    while True:
        # Cleared before the pass, so a finish during the pass wakes the next one at once.
        wake.clear()
        try:
            deliver = functools.partial(
                deliver_callbacks,
                state.db,
                state.clock,
                http,
                api_base_url=state.api_url,
                secret=callback_secret(state.settings),
                backoff=opts.backoff,
            )
            report = await anyio.to_thread.run_sync(deliver)
            busy = report.attempted > 0
        except (SQLAlchemyError, OSError) as exc:
            # The database or the disk hiccuped; the rows are still there for the next pass.
            log.error("callback delivery pass failed: %s", exc)
            busy = False
        if busy:
            continue
        with suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=opts.poll_interval)


async def _reminder_loop(app: FastAPI) -> None:
    state = app.state
    opts: DispatchOptions = state.options
    while True:
        try:
            await anyio.to_thread.run_sync(record_reminders, state.db, state.clock)
        except SQLAlchemyError as exc:
            log.error("reminder pass failed: %s", exc)
        await asyncio.sleep(opts.reminder_interval)
