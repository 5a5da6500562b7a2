"""What the bridge tests share: a fast pacing and a wait for a database condition."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ai_cs.bridges.xianyu.session import Timings

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
