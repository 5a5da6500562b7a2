"""Run every part of ai-cs in one asyncio loop (``aics serve``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import uvicorn

from ai_cs.config import Settings
from ai_cs.observability import configure_from_settings
from ai_cs.runtime import Runtime
from ai_cs.web.listen import IN_USE_HINT, listen

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to :func:`serve` (several run at once)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _server(app: Any, host: str, port: int) -> _Server:
    # log_config=None: uvicorn's loggers go through the root handler that serve() configured.
    return _Server(uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="on"))


def quiet_startup_logs() -> None:
    """Leave uvicorn's start-up chatter out: the banner says where everything runs.

    Two uvicorn servers share the ``uvicorn.error`` logger, so each start-up line would be
    printed twice. Its warnings and errors still show.
    """
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)


def background_loops(runtime: Runtime, stop: asyncio.Event) -> list[Coroutine[Any, Any, None]]:
    """The notification and dispatch relays, and the gateway (client or 闲鱼 bridge)."""
    from ai_cs.dispatch.relay import serve_relay
    from ai_cs.gateway.runner import run_gateway_for
    from ai_cs.notify.relay import run_relay as notify_relay

    # The gateway part runs the client with AICS_GATEWAY_URL, else the 闲鱼 bridge once an
    # account exists; it decides itself.
    return [
        notify_relay(runtime.settings, runtime.db, runtime.clock, stop=stop),
        serve_relay(runtime.settings, runtime.db, runtime.clock, stop=stop),
        run_gateway_for(runtime, stop),
    ]


async def serve(
    settings: Settings,
    *,
    dispatch: bool = True,
    worker: bool = True,
    on_ready: Callable[[Runtime], None] | None = None,
) -> None:
    """Run until SIGINT/SIGTERM; ``on_ready`` is called once everything listens."""
    from ai_cs.api.app import create_app
    from ai_cs.dispatch.app import create_dispatch_app

    configure_from_settings(settings.log_format, settings.log_level)
    quiet_startup_logs()
    hint = f"{IN_USE_HINT} (stop it, or choose other ports: AICS_API_PORT / AICS_DISPATCH_PORT)"
    sockets = [listen(settings.host, settings.api_port, in_use_hint=hint)]
    if dispatch:
        sockets.append(listen(settings.host, settings.dispatch_port, in_use_hint=hint))
    try:
        runtime = await asyncio.to_thread(Runtime.start, settings)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    servers = [
        _server(create_app(settings, workflow=runtime.workflow), settings.host, settings.api_port)
    ]
    if dispatch:
        app = create_dispatch_app(settings, db=runtime.db, clock=runtime.clock)
        servers.append(_server(app, settings.host, settings.dispatch_port))

    tasks = [
        asyncio.create_task(s.serve(sockets=[sock]))
        for s, sock in zip(servers, sockets, strict=True)
    ]
    loops = (runtime.worker_coroutines(stop) if worker else []) + background_loops(runtime, stop)
    tasks += [asyncio.create_task(c) for c in loops]
    if on_ready is not None:
        while not all(s.started for s in servers) and not any(t.done() for t in tasks):
            await asyncio.sleep(0.05)
        if all(s.started for s in servers):
            on_ready(runtime)

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
    for sock in sockets:
        sock.close()
    runtime.close()
