"""What the bridge tests share: a fast pacing, settings pointing at the fake, the bridge run alone
with a plain acking §7 client, and a wait for a database condition."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import connect

from ai_cs.bridges.endpoint import BridgeEndpoint
from ai_cs.bridges.xianyu.bridge import XianyuBridge
from ai_cs.bridges.xianyu.session import Timings
from ai_cs.bridges.xianyu.sim import FakeGoofish
from ai_cs.config import Settings
from ai_cs.workflow import Workflow

FAST = Timings(
    heartbeat_seconds=0.4,
    heartbeat_misses=2,
    request_timeout=3.0,
    backoff_base=0.1,
    backoff_cap=0.5,
    stable_seconds=5.0,
    deliver_timeout=10.0,
    echo_wait_seconds=3.0,
    state_poll_seconds=0.2,
    reg_refusal_limit=3,
)
"""The production pacing shortened (heartbeats, backoff, polls) so a test never waits on it."""


async def eventually(predicate: Callable[[], object], timeout: float = 15.0) -> bool:
    """Wait until ``predicate()`` (run in a thread: it may query the database) is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await asyncio.to_thread(predicate):
            return True
        await asyncio.sleep(0.05)
    return False


def fake_settings(settings: Settings, fake: FakeGoofish, **more: Any) -> Settings:
    """``settings`` with the four ``AICS_XIANYU_*_URL`` pointing at ``fake`` (and ``more``)."""
    env = fake.env()
    return settings.model_copy(
        update={
            "xianyu_ws_url": env["AICS_XIANYU_WS_URL"],
            "xianyu_mtop_url": env["AICS_XIANYU_MTOP_URL"],
            "xianyu_passport_url": env["AICS_XIANYU_PASSPORT_URL"],
            "xianyu_upload_url": env["AICS_XIANYU_UPLOAD_URL"],
            **more,
        }
    )


@dataclass
class Running:
    """A bridge run alone, and every §7 event it handed on."""

    bridge: XianyuBridge
    events: list[dict[str, Any]] = field(default_factory=list)


@contextlib.asynccontextmanager
async def bridge_alone(wf: Workflow, timings: Timings = FAST) -> AsyncIterator[Running]:
    """The bridge with a §7 client that stores nothing and acks every event."""
    async with BridgeEndpoint() as endpoint:
        bridge = XianyuBridge(
            wf.db,
            wf.clock,
            wf.settings,
            endpoint,
            holder="test",
            timings=timings,
            poll_seconds=0.2,
            lease_seconds=2.0,
        )
        running = Running(bridge)

        async def client() -> None:
            async with connect(endpoint.url) as ws:
                async for data in ws:
                    frame = json.loads(data)
                    if frame.get("type") == "event":
                        running.events.append(frame["event"])
                        ack = {"type": "ack", "event_id": frame["event"]["event_id"]}
                        await ws.send(json.dumps(ack))

        reader = asyncio.create_task(client())
        stop = asyncio.Event()
        task = asyncio.create_task(bridge.run(stop))
        try:
            yield running
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
