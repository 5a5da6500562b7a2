"""Run every part of ai-cs in one asyncio loop (``aics serve``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Coroutine, Iterator
from typing import Any

import uvicorn

from ai_cs.config import Settings
from ai_cs.observability import configure_from_settings
from ai_cs.runtime import Runtime, optional

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to :func:`serve` (several run at once)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _server(app: Any, host: str, port: int) -> _Server:
    # log_config=None: uvicorn's loggers go through the root handler that serve() configured.
    return _Server(uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="on"))


def background_loops(runtime: Runtime, stop: asyncio.Event) -> list[Coroutine[Any, Any, None]]:
    """Loops other domains provide, when installed: dispatch relay, gateway, delivery."""
    loops: list[Coroutine[Any, Any, None]] = []
    relay = optional("ai_cs.dispatch.relay")
    if relay is not None and hasattr(relay, "run_relay_for"):
        loops.append(relay.run_relay_for(runtime, stop))
    gateway = optional("ai_cs.gateway.runner")
    if gateway is not None and runtime.settings.gateway_url:
        loops.append(gateway.run_gateway_for(runtime, stop))
    return loops


async def serve(settings: Settings, *, dispatch: bool = True, worker: bool = True) -> None:
    """Run until SIGINT/SIGTERM."""
    configure_from_settings(settings.log_format, settings.log_level)
    runtime = await asyncio.to_thread(Runtime.start, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    servers: list[_Server] = []
    api = optional("ai_cs.api.app")
    if api is not None:
        servers.append(
            _server(
                api.create_app(settings, workflow=runtime.workflow),
                settings.host,
                settings.api_port,
            )
        )
    else:
        log.warning("the API package is not installed; not serving port %s", settings.api_port)
    dispatch_mod = optional("ai_cs.dispatch.app")
    if dispatch and dispatch_mod is not None:
        servers.append(
            _server(
                dispatch_mod.create_dispatch_app(settings, db=runtime.db, clock=runtime.clock),
                settings.host,
                settings.dispatch_port,
            )
        )

    tasks = [asyncio.create_task(s.serve()) for s in servers]
    loops = (runtime.worker_coroutines(stop) if worker else []) + background_loops(runtime, stop)
    tasks += [asyncio.create_task(c) for c in loops]

    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        if task is not stopper and task.exception() is not None:
            log.error("a part of ai-cs stopped", exc_info=task.exception())
    stop.set()
    for s in servers:
        s.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)
    stopper.cancel()
    runtime.close()
