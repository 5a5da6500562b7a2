"""The client process killed with SIGKILL and restarted: exactly once across crashes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from ai_cs.config import Settings
from ai_cs.gateway.sim import Customer, GatewaySimulator
from ai_cs.marketplace.models import GatewayInbox, GatewayOutbox
from ai_cs.workflow import Workflow

pytestmark = pytest.mark.anyio


class ClientProcess:
    """``python -m ai_cs gateway`` in its own process, logging to a file."""

    def __init__(self, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.env, self.cwd, self.log = env, cwd, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "ai_cs",
                    "gateway",
                    "--handler",
                    "gateway_helpers:echo_handler",
                    "--lease-seconds",
                    "1",
                    "--no-deliver",
                ],
                env=self.env,
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def stop(self, sig: int) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        code = await asyncio.to_thread(self.proc.wait, 20)
        self.proc = None
        return code


def _rows(wf: Workflow) -> tuple[list[GatewayInbox], list[GatewayOutbox]]:
    with wf.db.read() as s:
        inbox = list(s.execute(select(GatewayInbox).order_by(GatewayInbox.id)).scalars())
        outbox = list(s.execute(select(GatewayOutbox).order_by(GatewayOutbox.id)).scalars())
    return inbox, outbox


async def _until(predicate: object, timeout: float = 20.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.1)
    return False


async def test_a_client_killed_with_sigkill_processes_acked_events_and_sends_exactly_once(
    database_url: str, gw_settings: Settings, tmp_path: Path, sim: GatewaySimulator
) -> None:
    wf = Workflow(database_url=database_url, settings=gw_settings)  # migrates the database
    env = {
        **os.environ,
        "AICS_DATABASE_URL": database_url,
        "PYTHONPATH": str(Path(__file__).parent),
        "AICS_GATEWAY_URL": sim.url,
        "AICS_DATA_DIR": str(tmp_path / "data"),
        # A long burst window keeps acked events unprocessed when the first kill comes.
        "AICS_GATEWAY_BURST_WINDOW_MS": "1500",
    }
    client = ClientProcess(env, tmp_path, tmp_path / "client.log")
    people = [Customer(id=f"k{i}") for i in range(3)]
    texts = {p.id: [f"{p.id}-一", f"{p.id}-二"] for p in people}
    try:
        # 1. Events acked (stored), then SIGKILL before the burst window closes.
        client.start()
        assert await sim.wait_for(lambda: sim.live_connections == 1, 30), client.log.read_text()
        for person in people:
            for text in texts[person.id]:
                await sim.say(person, text)
        assert await sim.wait_for(lambda: not sim.unacked, 10)
        assert await client.stop(signal.SIGKILL) == -signal.SIGKILL
        inbox, _ = _rows(wf)
        assert len(inbox) == 6 and {r.status for r in inbox} == {"received"}
        assert sim.record.sends == []

        # 2. Restarted while the gateway withholds `sent`: replies go out but stay pending; kill.
        sim.answer_sent = False
        client.start()
        assert await sim.wait_for(lambda: len(sim.record.delivered) >= 3, 30), (
            client.log.read_text()
        )
        inbox, outbox = _rows(wf)
        assert {r.status for r in inbox} == {"processed"}
        assert outbox and {r.status for r in outbox} == {"pending"}
        assert await client.stop(signal.SIGKILL) == -signal.SIGKILL

        # 3. Restarted with a well-behaved gateway: the pending sends go out again, same ids.
        sim.answer_sent = True
        client.start()
        assert await _until(lambda: {r.status for r in _rows(wf)[1]} == {"sent"}), (
            client.log.read_text()
        )
        assert await client.stop(signal.SIGTERM) == 0
    finally:
        if client.proc is not None:
            await client.stop(signal.SIGKILL)
        wf.close()

    inbox, outbox = _rows(wf)
    assert len(inbox) == 6 and {r.status for r in inbox} == {"processed"}
    assert [r.attempts for r in inbox] == [1] * 6  # each event was taken up exactly once
    sent_ids = Counter(s["command_id"] for s in sim.record.sends)
    assert len(sent_ids) == len(outbox) and max(sent_ids.values()) >= 2  # retried, same ids
    for person in people:
        answered: Counter[str] = Counter()
        for item in sim.messages_to(person):
            answered.update(item.text.removeprefix("收到：").split("\n"))
        assert answered == Counter(texts[person.id])  # every message answered exactly once
