"""``aics gateway`` (the client alone) and ``aics gateway-sim`` (a gateway for development)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from ai_cs.cli.common import console, fail

if TYPE_CHECKING:
    import asyncio


def _handler_factory(name: str) -> Any:
    """The handler factory named on the command line: the agent, or ``module:callable``."""
    import importlib

    if name == "agent":
        return None  # the client's default: the shop's agent
    module_name, _, attr = name.partition(":")
    if not attr:
        fail(f"unknown handler {name!r}; use agent or module:callable")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        fail(f"cannot load handler {name!r}: {exc}")


def _stop_on_signals(stop: asyncio.Event) -> None:
    import asyncio
    import contextlib
    import signal

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


def register(app: typer.Typer) -> None:
    """Add ``gateway`` and ``gateway-sim``."""

    @app.command("gateway")
    def gateway_cmd(
        url: str = typer.Option("", help="Gateway websocket URL (default AICS_GATEWAY_URL)."),
        handler: str = typer.Option(
            "agent", help="agent (the shop's agent), or module:callable (tests, experiments)."
        ),
        account: list[str] = typer.Option(
            [], "--account", help="Shop account(s) to hold; default: every account (*)."
        ),
        lease_seconds: float = typer.Option(30.0, min=1.0, help="Account lease length."),
        burst_window_ms: int | None = typer.Option(
            None, min=0, help="Merge a customer's messages within this window (default setting)."
        ),
        deliver: bool = typer.Option(True, help="Also announce finished results to customers."),
    ) -> None:
        """Run the marketplace gateway client alone until Ctrl-C."""
        import asyncio
        import logging

        from ai_cs.config import get_settings
        from ai_cs.gateway.client import run_gateway

        settings = get_settings()
        if url:
            settings = settings.model_copy(update={"gateway_url": url})
        if not settings.gateway_url:
            fail("no gateway URL: pass --url or set AICS_GATEWAY_URL")
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        factory = _handler_factory(handler)

        async def main() -> None:
            stop = asyncio.Event()
            _stop_on_signals(stop)
            await run_gateway(
                settings,
                stop,
                handler_factory=factory,
                deliver_results=deliver,
                accounts=tuple(account) or ("*",),
                lease_seconds=lease_seconds,
                burst_window_ms=burst_window_ms,
            )

        console.print(f"gateway client → {settings.gateway_url} (Ctrl-C stops)", highlight=False)
        asyncio.run(main())

    @app.command("gateway-sim")
    def gateway_sim_cmd(
        host: str = typer.Option("127.0.0.1", help="Address to listen on."),
        port: int = typer.Option(8765, min=0, max=65535, help="Port (0 = any free port)."),
        script: str = typer.Option(
            "shop", help="Customers to play once a client connects: shop, burst, chaos, none."
        ),
        customers: int = typer.Option(3, min=1, max=1000, help="How many scripted customers."),
        redeliver_after: float = typer.Option(3.0, min=0.1, help="Resend unacked events after."),
        exit_after_script: bool = typer.Option(
            False, "--exit-after-script", help="Stop once the script has played."
        ),
    ) -> None:
        """A marketplace gateway for development: scripted customers on a websocket server."""
        import asyncio

        from ai_cs.gateway.sim import SCRIPTS, GatewaySimulator, play_script

        if script not in (*SCRIPTS, "none"):
            fail(f"unknown script {script!r}; choose one of {(*SCRIPTS, 'none')}")

        def show(text: str) -> None:
            console.print(text, highlight=False, markup=False, soft_wrap=True)

        async def main() -> None:
            stop = asyncio.Event()
            _stop_on_signals(stop)
            sim = GatewaySimulator(
                host=host,
                port=port,
                redeliver_after=redeliver_after,
                on_delivered=lambda d: show(f"→ {d.to} [{d.conversation_id}]: {d.text}"),
            )
            async with sim:
                show(f"gateway simulator on {sim.url} (pictures at {sim.http_base}/pictures/)")
                show(f"run the client with: AICS_GATEWAY_URL={sim.url} aics gateway")
                if script != "none":
                    await _wait_connected(sim, stop)
                    if not stop.is_set():
                        await play_script(sim, script, customers=customers, echo=show)
                    if exit_after_script:
                        return
                await stop.wait()

        asyncio.run(main())


async def _wait_connected(sim: Any, stop: asyncio.Event) -> None:
    import asyncio

    while not stop.is_set() and sim.live_connections == 0:
        await asyncio.sleep(0.1)
