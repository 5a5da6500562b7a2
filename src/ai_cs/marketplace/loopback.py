"""Servers on loopback that play a marketplace's side of the wire.

The gateway simulator (``ai_cs.gateway.sim``), the bridges' §7 endpoint (``ai_cs.bridges.endpoint``)
and the fake Goofish service (``ai_cs.bridges.xianyu.sim``) share their lifecycle here:
:class:`LoopbackServer` listens between ``start`` and ``stop`` (``async with`` runs both),
:class:`WebsocketServer` adds the websockets listener, and :class:`Changes` lets tests wait until
what a simulator recorded satisfies a predicate.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Self

from websockets.asyncio.server import Server, ServerConnection, serve


class LoopbackServer:
    """A server on ``host:port`` (port 0 picks a free one) from :meth:`start` to :meth:`stop`."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port

    async def start(self) -> Self:
        """Listen; ``port`` holds the real port afterwards."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Stop listening and end every connection."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class WebsocketServer(LoopbackServer):
    """A :class:`LoopbackServer` that speaks websockets (``websockets.asyncio.server``)."""

    _server: Server | None = None

    async def _listen(self, handler: Callable[[ServerConnection], Any], **options: Any) -> None:
        """Serve ``handler`` on ``host:port`` with the ``serve`` ``options``; learn the port."""
        self._server = await serve(handler, self.host, self.port, **options)
        self.port = int(next(iter(self._server.sockets)).getsockname()[1])

    async def _stop_listening(self) -> None:
        """Close the listener and wait until its connections are closed."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


class Changes:
    """A simulator's change signal: :meth:`notify` after each change, :meth:`until` waits on it."""

    def __init__(self) -> None:
        self._changed = asyncio.Condition()

    async def notify(self) -> None:
        """Wake every waiter so it checks its predicate again."""
        async with self._changed:
            self._changed.notify_all()

    async def until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``predicate()`` holds (checked on every change and every 50 ms).

        False if it still does not hold after ``timeout`` seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=min(0.05, remaining))
        return True
