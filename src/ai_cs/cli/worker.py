"""``aics worker``: run processing jobs without the HTTP servers."""

from __future__ import annotations

import typer

from ai_cs.cli.common import console


def register(app: typer.Typer) -> None:
    """Add the ``worker`` command."""

    @app.command("worker")
    def worker_cmd(
        once: bool = typer.Option(False, "--once", help="Run what is due, then exit."),
        backend: str = typer.Option(
            "", help="embedded or procrastinate (default: AICS_QUEUE_BACKEND)."
        ),
        concurrency: int = typer.Option(0, help="Jobs at once (default: AICS_WORKER_CONCURRENCY)."),
    ) -> None:
        """Take paid tasks from the queue and run their engines (作图)."""
        import asyncio
        import signal

        from ai_cs.config import get_settings
        from ai_cs.runtime import Runtime

        settings = get_settings()
        if backend:
            settings = settings.model_copy(update={"queue_backend": backend})
        if concurrency:
            settings = settings.model_copy(update={"worker_concurrency": concurrency})
        from ai_cs.observability import configure_from_settings

        configure_from_settings(settings.log_format, settings.log_level)
        runtime = Runtime.start(settings)
        if once:
            if settings.queue_backend != "embedded":
                raise typer.BadParameter("--once works with the embedded queue")
            outcomes = runtime.embedded_worker().run_until_idle()
            for o in outcomes:
                console.print(f"{o.task_id}: {o.status}{' — ' + o.error if o.error else ''}")
            return

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            console.print(f"worker running ({settings.queue_backend} queue); Ctrl-C stops it")
            await asyncio.gather(*runtime.worker_coroutines(stop))

        asyncio.run(main())
        runtime.close()
