"""The gateway as a part of ``aics serve``: client and result delivery on the shared runtime."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ai_cs.gateway.client import run_gateway

if TYPE_CHECKING:
    from ai_cs.runtime import Runtime


async def run_gateway_for(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run the gateway client and the delivery loop on ``runtime``'s workflow until ``stop``."""
    await run_gateway(runtime.settings, stop, workflow=runtime.workflow)
