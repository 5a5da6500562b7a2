"""``create_app``: the Tianwang HTTP API (天网协作系统, port 6060) and the staff console.

Nothing is built at import time. ``create_app(settings)`` opens the workflow (database, clock,
job queue) unless one is handed in, and keeps ``db``, ``clock``, ``queue``, ``workflow``,
``settings`` and the ``rate_limiter`` on ``app.state`` for the dependencies. Every domain's
router is included by a plain import: tasks, conversations, library, the dispatch callback, the
customers' result links, metrics and the console.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi_offline import FastAPIOffline

from ai_cs import observability
from ai_cs.api import (
    console_accounts,
    console_assist,
    console_conversations,
    console_dashboard,
    console_notify,
    sessions,
)
from ai_cs.api.console import install as install_console
from ai_cs.api.ratelimit import TokenBucketLimiter
from ai_cs.api.routes import health
from ai_cs.config import Settings
from ai_cs.conversations import routes as conversations_routes
from ai_cs.dispatch import callback as dispatch_callback
from ai_cs.gateway import routes as result_links
from ai_cs.library import routes as library_routes
from ai_cs.tasks import routes as tasks_routes
from ai_cs.web.errors import install_error_handlers
from ai_cs.web.headers import NoSniff
from ai_cs.web.keyfirst import CookieLogin, KeyBeforeBody
from ai_cs.web.limits import BodySizeLimit
from ai_cs.web.openapi import document_errors
from ai_cs.workflow import Workflow

API_TITLE: Final = "ai-cs 天网协作 API"
API_VERSION: Final = "1.0"


def create_app(settings: Settings, *, workflow: Workflow | None = None) -> FastAPI:
    """The Tianwang API and staff console for ``settings``.

    With ``workflow`` given (tests, ``aics serve`` sharing one with the worker) the app uses it and
    leaves closing it to the caller; otherwise it opens its own and closes it on shutdown.
    """
    owned = workflow is None
    wf = workflow if workflow is not None else Workflow(settings=settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if owned:
                wf.close()

    # Swagger UI at /docs from files shipped in the fastapi-offline wheel: no CDN at run time.
    app = FastAPIOffline(
        docs_url="/docs",
        redoc_url=None,
        static_url="/static-docs",
        title=API_TITLE,
        version=API_VERSION,
        description="Staff and partner systems see and act on image tasks (天网协作系统). "
        "Every `/api/v1` route needs `Authorization: Bearer <key>`; errors are "
        '`{"error": {"code", "message"}}`.',
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.workflow = wf
    app.state.db = wf.db
    app.state.clock = wf.clock
    app.state.queue = wf.queue
    per_minute = max(1, settings.rate_limit_per_minute)
    # A fifth of a minute's allowance may come at once (the console's first page load, a
    # partner system catching up); after that the steady rate applies.
    app.state.rate_limiter = TokenBucketLimiter(per_minute / 60.0, max(1, per_minute // 5))

    install_error_handlers(app)
    # Keys before bodies: a keyed route answers 401 before any of its body is read.
    app.add_middleware(
        KeyBeforeBody,
        public=(dispatch_callback.CALLBACK_PATH,),
        cookie_login=CookieLogin("/console/", sessions.COOKIE, "/console/login"),
    )
    app.add_middleware(BodySizeLimit, max_upload_bytes=settings.max_upload_bytes)
    app.add_middleware(NoSniff)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        """The first page a person opens: the staff console."""
        return RedirectResponse("/console/", status_code=307)

    app.include_router(health.router)
    for router in (
        tasks_routes.router,
        conversations_routes.router,
        library_routes.router,
        dispatch_callback.router,
        result_links.router,
        observability.router,
    ):
        app.include_router(router)
    install_console(app)
    app.include_router(console_dashboard.router)
    app.include_router(console_conversations.router)
    app.include_router(console_assist.router)
    console_accounts.install(app)
    app.include_router(console_notify.router)
    document_errors(app, public=(dispatch_callback.CALLBACK_PATH,), rate_limited=True)
    return app
