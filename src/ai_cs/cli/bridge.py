"""``aics bridge xianyu`` (the 闲鱼 bridge alone) and ``aics xianyu-sim`` (a fake Goofish)."""

from __future__ import annotations

import typer

from ai_cs.cli.common import console, fail

GATEWAY_TOKEN_FILE = "bridge_gateway.token"


def register(app: typer.Typer) -> None:
    """Add ``bridge`` and ``xianyu-sim``."""
    bridge_app = typer.Typer(help="Marketplace bridges (real shop accounts).", no_args_is_help=True)

    @bridge_app.command("xianyu")
    def xianyu_cmd(
        port: int = typer.Option(
            0,
            min=0,
            max=65535,
            help="Serve the §7 gateway on this port for an `aics gateway` / `aics serve` "
            "elsewhere (AICS_GATEWAY_URL); 0 = run the gateway client here as well.",
        ),
        host: str = typer.Option("127.0.0.1", help="Address of the §7 gateway (with --port)."),
    ) -> None:
        """Run the 闲鱼 bridge for every configured account until Ctrl-C."""
        import asyncio
        import secrets

        from ai_cs.bridges.endpoint import BridgeEndpoint
        from ai_cs.bridges.xianyu.bridge import XianyuBridge, import_env_cookie
        from ai_cs.cli.gateway import _stop_on_signals
        from ai_cs.config import get_settings
        from ai_cs.db.wait import when_database_answers
        from ai_cs.dispatch.config import read_secret_file, write_secret_file
        from ai_cs.gateway.client import default_holder
        from ai_cs.gateway.runner import run_xianyu_bridge
        from ai_cs.observability import configure_from_settings
        from ai_cs.workflow import Workflow

        settings = get_settings()
        configure_from_settings(settings.log_format, settings.log_level)
        workflow = when_database_answers(lambda: Workflow(settings=settings))
        import_env_cookie(workflow.db, workflow.clock, settings)

        async def joined() -> None:
            stop = asyncio.Event()
            _stop_on_signals(stop)
            await run_xianyu_bridge(settings, stop, workflow=workflow)

        async def served() -> None:
            stop = asyncio.Event()
            _stop_on_signals(stop)
            path = settings.data_dir / GATEWAY_TOKEN_FILE
            if read_secret_file(path) is None:
                write_secret_file(path, secrets.token_urlsafe(18))
            token = read_secret_file(path)
            endpoint = BridgeEndpoint(host=host, port=port, token=token)
            async with endpoint:
                console.print(
                    f"闲鱼 bridge: AICS_GATEWAY_URL={endpoint.url} (Ctrl-C stops)",
                    highlight=False,
                    soft_wrap=True,
                )
                console.file.flush()  # a pipe or file is block-buffered: show the URL now
                bridge = XianyuBridge(
                    workflow.db, workflow.clock, settings, endpoint, holder=default_holder()
                )
                await bridge.run(stop)

        if settings.gateway_url and not port:
            fail("AICS_GATEWAY_URL is set: this process would join that gateway, not the bridge")
        console.print("闲鱼 bridge starting (accounts: aics accounts list)", highlight=False)
        try:
            asyncio.run(served() if port else joined())
        finally:
            workflow.close()

    app.add_typer(bridge_app, name="bridge")

    @app.command("xianyu-sim")
    def xianyu_sim_cmd(
        host: str = typer.Option("127.0.0.1", help="Address to listen on."),
        port: int = typer.Option(8790, min=0, max=65535, help="Port (0 = any free port)."),
        account: list[str] = typer.Option(
            ["1000000001"], "--account", help="Seller user id(s) to create."
        ),
    ) -> None:
        """A fake Goofish (mtop, upload, IM websocket) for development; never the real one."""
        import asyncio

        from ai_cs.bridges.xianyu.sim import FakeGoofish
        from ai_cs.cli.gateway import _stop_on_signals

        async def main() -> None:
            stop = asyncio.Event()
            _stop_on_signals(stop)
            async with FakeGoofish(host=host, port=port) as fake:
                for index, user_id in enumerate(account):
                    seller = fake.add_account(user_id, f"测试小店{index + 1}")
                    console.print(
                        f"cookie of {user_id}: {seller.cookie()}", highlight=False, soft_wrap=True
                    )
                for key, value in fake.env().items():
                    console.print(f"export {key}='{value}'", highlight=False, soft_wrap=True)
                console.print(
                    f"a buyer writes: curl -X POST '{fake.base}/_sim/say?account={account[0]}"
                    "&buyer=2200000001&text=在吗'   (state: GET /_sim/state)",
                    highlight=False,
                    soft_wrap=True,
                )
                console.file.flush()
                await stop.wait()

        asyncio.run(main())
