"""``aics serve``: the whole system on embedded defaults, in one process.

- Tianwang HTTP API and staff console on ``AICS_HOST:AICS_API_PORT`` (127.0.0.1:6060);
- Tuhui dispatch service on ``AICS_HOST:AICS_DISPATCH_PORT`` (127.0.0.1:8005);
- the processing worker, the dispatch outbox relay, and — when ``AICS_GATEWAY_URL`` is set —
  the marketplace gateway client and the result delivery loop.

Ctrl-C (SIGINT) or SIGTERM stops every part cleanly: servers finish their requests, loops end
at their next step, and the database is closed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from ai_cs.cli.common import console, fail_domain
from ai_cs.errors import AicsError

if TYPE_CHECKING:
    from ai_cs.runtime import Runtime

STAFF_KEY_COMMAND = "uv run aics keys create --name me --scope staff"


def _staff_keys(runtime: Runtime) -> int:
    """How many live keys a person can open the console with (ai-cs's own keys not counted)."""
    from sqlalchemy import func, select

    from ai_cs.auth.models import ApiKey
    from ai_cs.dispatch.client import SERVICE_KEY_NAME

    with runtime.db.read() as session:
        count = session.execute(
            select(func.count())
            .select_from(ApiKey)
            .where(
                ApiKey.revoked_at.is_(None),
                ApiKey.scope.in_(("staff", "admin")),
                ApiKey.name != SERVICE_KEY_NAME,
            )
        ).scalar_one()
    return int(count)


def banner(runtime: Runtime) -> str:
    """Where everything runs and how a newcomer gets in (no key is ever printed here)."""
    settings = runtime.settings
    base = f"http://{settings.host}:{settings.api_port}"
    if _staff_keys(runtime) == 0:
        login = (
            "no staff key yet: in another terminal run\n"
            f"                   {STAFF_KEY_COMMAND}\n"
            "                 and paste the key it prints once into the login page"
        )
    else:
        login = f"with a staff key (a new one: {STAFF_KEY_COMMAND})"
    lines = [
        "[bold]ai-cs is running[/bold]",
        f"  staff console    {base}/console/",
        f"  log in           {login}",
        f"  API              {base}/api/v1  (docs {base}/docs)",
    ]
    if runtime.settings.dispatch_url == "":
        lines.append(f"  designers        http://{settings.host}:{settings.dispatch_port}/")
    lines += [
        f"  data             {settings.data_dir}",
        f"  database         {settings.resolved_database_url.split('@')[-1]}",
        "  try it           uv run aics chat   (/image PATH to send a picture, /pay to pay)",
        "  Ctrl-C stops everything",
    ]
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command."""

    @app.command("serve")
    def serve_cmd(
        no_dispatch: bool = typer.Option(
            False, "--no-dispatch", help="Do not start the built-in dispatch service."
        ),
        no_worker: bool = typer.Option(False, "--no-worker", help="Do not run the worker here."),
    ) -> None:
        """Start API (6060), dispatch (8005), worker and gateway client."""
        import asyncio
        import signal

        from ai_cs.config import get_settings
        from ai_cs.serve import serve

        settings = get_settings()

        def ready(runtime: Runtime) -> None:
            console.print(banner(runtime), highlight=False, soft_wrap=True)
            console.file.flush()  # stdout to a file or pipe is block-buffered: show it now

        try:
            asyncio.run(
                serve(settings, dispatch=not no_dispatch, worker=not no_worker, on_ready=ready)
            )
        except AicsError as exc:
            fail_domain(exc)
        # Everything has stopped; a second Ctrl-C (terminals and `uv run` both deliver one)
        # must not turn the clean exit into a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        console.print("ai-cs stopped")
