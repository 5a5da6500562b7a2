"""The gateway as a part of ``aics serve``: client and result delivery on the shared runtime.

With ``AICS_GATEWAY_URL`` the client joins that gateway. Without it, and once a 闲鱼 account is
configured, the 闲鱼 bridge runs in-process as a §7 gateway on loopback and the same client joins
it (:func:`run_xianyu_bridge`): the inbox, lanes, outbox and delivery are the ones every gateway
uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any, Final

from ai_cs.bridges.endpoint import BridgeEndpoint
from ai_cs.bridges.xianyu.bridge import XianyuBridge, has_accounts, import_env_cookie
from ai_cs.bridges.xianyu.cookies import CookieError
from ai_cs.config import Settings
from ai_cs.gateway.client import GatewayClient, default_holder, run_gateway
from ai_cs.workflow import Workflow

if TYPE_CHECKING:
    from ai_cs.runtime import Runtime

log = logging.getLogger(__name__)

ACCOUNT_WAIT_SECONDS: Final = 5.0


async def run_gateway_for(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run the gateway client and the delivery loop on ``runtime``'s workflow until ``stop``."""
    if runtime.settings.gateway_url:
        await run_gateway(runtime.settings, stop, workflow=runtime.workflow)
    else:
        await run_xianyu_bridge(runtime.settings, stop, workflow=runtime.workflow)


async def run_xianyu_bridge(
    settings: Settings,
    stop: asyncio.Event,
    *,
    workflow: Workflow,
    bridge_options: dict[str, Any] | None = None,
    **client_options: Any,
) -> None:
    """The 闲鱼 bridge and the gateway client joined to it, once an account is configured."""
    db, clock = workflow.db, workflow.clock
    try:
        await asyncio.to_thread(import_env_cookie, db, clock, settings)
    except CookieError as exc:
        log.error("AICS_XIANYU_COOKIE is not usable: %s", exc.message)
    while not stop.is_set() and not await asyncio.to_thread(has_accounts, db):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=ACCOUNT_WAIT_SECONDS)
    if stop.is_set():
        return
    async with BridgeEndpoint() as endpoint:
        options = {"holder": default_holder(), **(bridge_options or {})}
        bridge = XianyuBridge(db, clock, settings, endpoint, **options)
        joined = settings.model_copy(update={"gateway_url": endpoint.url})

        def follow(client: GatewayClient) -> None:
            # Sessions run only while this process's client holds the gateway lease: with
            # several `aics serve` processes, the one that answers customers also connects.
            bridge.gate = client.lease_held

        log.info("xianyu bridge: running; the gateway client joins it on loopback")
        await asyncio.gather(
            bridge.run(stop),
            run_gateway(joined, stop, workflow=workflow, on_client=follow, **client_options),
        )
