"""``aics serve``: the whole system on embedded defaults, in one process.

- Tianwang HTTP API and staff console on ``AICS_HOST:AICS_API_PORT`` (127.0.0.1:6060);
- Tuhui dispatch service on ``AICS_HOST:AICS_DISPATCH_PORT`` (127.0.0.1:8005);
- the processing worker, the dispatch outbox relay, and — when ``AICS_GATEWAY_URL`` is set —
  the marketplace gateway client and the result delivery loop.

Ctrl-C (SIGINT) or SIGTERM stops every part cleanly: servers finish their requests, loops end
at their next step, and the database is closed.
"""

from __future__ import annotations

import typer

from ai_cs.cli.common import console


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
        console.print(
            f"ai-cs: API http://{settings.host}:{settings.api_port}  "
            f"dispatch http://{settings.host}:{settings.dispatch_port}  "
            f"database {settings.resolved_database_url.split('@')[-1]}"
        )
        asyncio.run(serve(settings, dispatch=not no_dispatch, worker=not no_worker))
        # Everything has stopped; a second Ctrl-C (terminals and `uv run` both deliver one)
        # must not turn the clean exit into a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        console.print("ai-cs stopped")
