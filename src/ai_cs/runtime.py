"""Wiring of the long-running parts, shared by ``aics serve``, ``aics worker`` and the demo.

One :class:`Runtime` holds the settings, the database, the clock and the ``Workflow``; it builds
the background loops (worker, dispatch outbox relay, gateway client, result delivery) on demand.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any

from ai_cs.config import Settings
from ai_cs.db.wait import STARTUP_WAIT_SECONDS, when_database_answers
from ai_cs.jobs.presence import announce_until
from ai_cs.processing.worker import ProcessingFlow, Worker
from ai_cs.workflow import Workflow

log = logging.getLogger(__name__)


class Runtime:
    """The process-wide objects of one ai-cs process."""

    def __init__(self, settings: Settings, *, workflow: Workflow | None = None) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.workflow = workflow or Workflow(settings=settings)
        self.db = self.workflow.db
        self.clock = self.workflow.clock

    @classmethod
    def start(cls, settings: Settings, *, wait_seconds: float = STARTUP_WAIT_SECONDS) -> Runtime:
        """A runtime once the database answers, waiting up to ``wait_seconds`` for it."""
        return when_database_answers(lambda: cls(settings), wait_seconds=wait_seconds)

    def close(self) -> None:
        """Release database connections."""
        self.workflow.close()

    # ------------------------------------------------------------------ worker
    def embedded_worker(self) -> Worker:
        """A worker on the embedded queue."""
        return Worker(self.db, self.clock, self.settings)

    def worker_coroutines(self, stop: asyncio.Event) -> list[Coroutine[Any, Any, None]]:
        """The processing loops for the configured queue backend."""
        n = max(1, self.settings.worker_concurrency)
        presence = announce_until(self.db, self.clock, self.settings.queue_backend, stop)
        if self.settings.queue_backend == "procrastinate":
            from ai_cs.jobs.procrastinate_queue import build_app, run_worker

            flow = ProcessingFlow(self.db, self.clock, self.settings)
            app = build_app(self.db.url, flow, max_attempts=self.settings.job_max_attempts)
            return [run_worker(app, stop, concurrency=n, recover=flow), presence]
        return [self.embedded_worker().run_forever(stop) for _ in range(n)] + [presence]


class BackgroundWorker:
    """The configured worker loops on a thread of their own (``aics chat`` without a server).

    :meth:`start` returns at once; :meth:`stop` ends the loops at their next step and waits for
    the thread. A job cut short by the stop keeps its lease and is taken back by the next worker,
    as after any other stop.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="aics-worker", daemon=True)

    def start(self) -> None:
        """Start the loops and wait until they can be stopped."""
        self._thread.start()
        self._ready.wait(timeout=10)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the loops and wait (at most ``timeout`` seconds) for the thread to end."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._ready.set()
            await asyncio.gather(*self.runtime.worker_coroutines(self._stop))

        asyncio.run(main())
