"""``aics dispatch``: run the Tuhui dispatch service for designers alone (default port 8005)."""

from __future__ import annotations

import typer

from ai_cs.cli.common import bound_socket, console


def register(app: typer.Typer) -> None:
    """Add the ``dispatch`` command."""

    @app.command("dispatch")
    def dispatch_cmd(
        host: str | None = typer.Option(None, help="Bind address (default AICS_HOST)."),
        port: int | None = typer.Option(None, help="Port (default AICS_DISPATCH_PORT, 8005)."),
    ) -> None:
        """Run the dispatch service (图绘派单): designer page at /, JSON API under /api/v1."""
        import uvicorn

        from ai_cs.config import get_settings
        from ai_cs.db.wait import when_database_answers
        from ai_cs.dispatch.app import create_dispatch_app

        settings = get_settings()
        bind_host = host or settings.host
        bind_port = port if port is not None else settings.dispatch_port
        # The port first: a second copy must say so at once, not after waiting for the database.
        sock = bound_socket(bind_host, bind_port, in_use_hint="is aics serve already running?")
        bind_port = sock.getsockname()[1]  # the real one when --port 0 asked for any free port
        app = when_database_answers(lambda: create_dispatch_app(settings))
        console.print(
            f"dispatch service on http://{bind_host}:{bind_port}/ "
            "(designer keys: aics keys create --name NAME --scope designer)"
        )
        config = uvicorn.Config(app, host=bind_host, port=bind_port, log_level="info")
        uvicorn.Server(config).run(sockets=[sock])
