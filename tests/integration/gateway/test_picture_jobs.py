"""Pictures analysed as jobs on the worker queue (AICS_PICTURE_JOBS).

The gateway's turn enqueues the picture's analysis, tells the customer at once when the quote
will take a moment, and quotes when a worker has analysed it; other customers are answered
meanwhile; a worker killed in the middle of an analysis costs a retry, never a second quote.
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anyio.to_thread
import numpy as np
import pytest
from gateway_helpers import make_client, running
from numpy.typing import NDArray
from PIL import Image, ImageDraw
from sqlalchemy import select

from ai_cs.agent.handler import PICTURE_ACK, AgentHandler
from ai_cs.agent.intent_model import intent_model
from ai_cs.config import Settings
from ai_cs.db.models import Job
from ai_cs.gateway.sim import Customer, GatewaySimulator
from ai_cs.imaging.ocr import OcrLine, StaticOcr
from ai_cs.jobs import presence
from ai_cs.jobs.queue import ANALYSE_PICTURE
from ai_cs.processing.pictures import load_result
from ai_cs.processing.worker import Worker
from ai_cs.workflow import Workflow

pytestmark = pytest.mark.anyio


class SlowOcr(StaticOcr):
    """No text, after a pause: an analysis that takes a noticeable time."""

    def __init__(self, seconds: float) -> None:
        super().__init__([])
        self.seconds = seconds

    def read(self, rgb: NDArray[np.uint8]) -> list[OcrLine]:
        time.sleep(self.seconds)
        return super().read(rgb)


def photo_png(seed: int = 0) -> bytes:
    img = Image.new("RGB", (640, 480), (240, 240, 235))
    draw = ImageDraw.Draw(img)
    draw.ellipse((120 + seed, 80, 520, 400), fill=(30, 90, 160))
    draw.rectangle((200, 180, 300 + seed, 260), fill=(220, 120, 40))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def pj_settings(gw_settings: Settings) -> Settings:
    return gw_settings.model_copy(
        update={"picture_jobs": True, "picture_ack_after_seconds": 0.3, "job_lease_seconds": 2.0}
    )


@pytest.fixture
def wf(database_url: str, pj_settings: Settings) -> Iterator[Workflow]:
    intent_model()  # trained before the clock starts (a gateway warms it up at start-up)
    workflow = Workflow(database_url=database_url, settings=pj_settings)
    try:
        yield workflow
    finally:
        workflow.close()


class WorkerThread:
    """An embedded worker polling in a thread (as `aics worker` does in its process)."""

    def __init__(self, wf: Workflow, ocr: StaticOcr) -> None:
        self.worker = Worker(wf.db, wf.clock, wf.settings, ocr=ocr, lease_seconds=2.0)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self.stop.is_set():
            if self.worker.run_once() is None:
                self.stop.wait(0.05)

    def __enter__(self) -> WorkerThread:
        presence.beat(self.worker.db, self.worker.clock, self.worker.worker_id, "embedded")
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(10)
        presence.leave(self.worker.db, self.worker.worker_id)


def texts(sim: GatewaySimulator, customer: Customer) -> list[str]:
    return [d.text for d in sim.messages_to(customer)]


async def send_pictures(sim: GatewaySimulator, buyers: list[Customer], pictures: list[str]) -> None:
    """Each buyer sends their picture for a cut-out and is answered once (the acknowledgement)."""
    for buyer, picture in zip(buyers, pictures, strict=True):
        await sim.send_picture(buyer, picture, text="帮我抠图")
    for buyer in buyers:
        assert await sim.wait_for_replies(buyer, 1, timeout=20)


def assert_acknowledged_then_quoted(sim: GatewaySimulator, buyers: list[Customer]) -> None:
    """Each buyer got the acknowledgement, then the quote, and nothing more."""
    for buyer in buyers:
        assert texts(sim, buyer)[0] == PICTURE_ACK
        assert len(texts(sim, buyer)) == 2 and "元" in texts(sim, buyer)[1]


async def test_a_picture_is_acknowledged_at_once_quoted_by_a_worker_and_others_are_answered(
    wf: Workflow, sim: GatewaySimulator
) -> None:
    picture = sim.add_picture("p.png", photo_png())
    buyer, other = Customer(id="pic-1"), Customer(id="txt-1")
    # The gateway's own handler never analyses: its OCR would fail the test if it were called.
    gateway_ocr = StaticOcr(["不应被调用"])
    handler = AgentHandler(wf, ocr=gateway_ocr)
    with WorkerThread(wf, SlowOcr(2.0)):
        async with running(make_client(wf, sim, handler)):
            started = time.monotonic()
            await sim.send_picture(buyer, picture, text="帮我抠图")
            assert await sim.wait_for_replies(buyer, 1, timeout=10)
            acked_after = time.monotonic() - started
            await sim.say(other, "你好")
            assert await sim.wait_for_replies(other, 1, timeout=10)
            other_answered = time.monotonic() - started
            assert await sim.wait_for_replies(buyer, 2, timeout=30)
            quoted_after = time.monotonic() - started
            await asyncio.sleep(0.5)  # nothing more may follow
    assert texts(sim, buyer)[0] == PICTURE_ACK
    assert "元" in texts(sim, buyer)[1]
    assert len(texts(sim, buyer)) == 2
    assert acked_after < 2.0 < quoted_after
    assert other_answered < quoted_after  # the text turn did not wait for the picture
    assert gateway_ocr.calls == 0
    with wf.db.read() as session:
        jobs = list(session.execute(select(Job.kind, Job.status, Job.attempts)).all())
    assert [(j.kind, j.status, j.attempts) for j in jobs] == [(ANALYSE_PICTURE, "done", 1)]
    task = wf.list_tasks(customer_id=buyer.id)[0][0]
    assert task["operation"] == "remove_bg" and task["price_fen"]


async def test_pictures_waiting_for_a_worker_hold_no_tool_thread(
    wf: Workflow, sim: GatewaySimulator
) -> None:
    """More pictures wait for a worker than AnyIO has threads; a text turn still goes first.

    pydantic-ai runs the agent's sync tools on AnyIO's thread limiter (40 threads by default,
    2 here). A quote tool that waited for its picture job in one of those threads held it, and
    the text turn's tools queued behind the pictures until a worker came.
    """
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = 2
    buyers = [Customer(id=f"many-{i}") for i in range(4)]
    pictures = [sim.add_picture(f"m{i}.png", photo_png(11 + i)) for i in range(4)]
    other = Customer(id="txt-many")
    gateway_ocr = StaticOcr(["不应被调用"])
    worker = WorkerThread(wf, StaticOcr())
    # The worker has announced itself but takes no job until the text turn has been answered.
    presence.beat(wf.db, wf.clock, worker.worker.worker_id, "embedded")
    try:
        async with running(make_client(wf, sim, AgentHandler(wf, ocr=gateway_ocr))) as client:
            await send_pictures(sim, buyers, pictures)
            await sim.say(other, "你好")
            answered = await sim.wait_for_replies(other, 1, timeout=20)
            quoted_before_text = sum(len(texts(sim, b)) > 1 for b in buyers)
            with worker:
                for buyer in buyers:
                    assert await sim.wait_for_replies(buyer, 2, timeout=60)
                assert await client.processor.idle(10)
                await asyncio.sleep(0.5)
    finally:
        limiter.total_tokens = 40
        presence.leave(wf.db, worker.worker.worker_id)
    assert answered and quoted_before_text == 0
    assert_acknowledged_then_quoted(sim, buyers)
    assert gateway_ocr.calls == 0
    with wf.db.read() as session:
        jobs = list(session.execute(select(Job.kind, Job.status)).all())
    assert sorted(jobs) == [(ANALYSE_PICTURE, "done")] * 4


async def test_a_picture_no_worker_takes_is_analysed_by_the_turn_after_one_wait(
    wf: Workflow, sim: GatewaySimulator
) -> None:
    """The turn waits ``picture_job_wait_seconds`` for the job; the quoting tool does not again."""
    wf.settings.picture_job_wait_seconds = 3.0
    picture = sim.add_picture("w.png", photo_png(21))
    buyer = Customer(id="pic-wait")
    ocr = StaticOcr()
    presence.beat(wf.db, wf.clock, "idle-worker", "embedded")  # alive, but takes no job
    try:
        async with running(make_client(wf, sim, AgentHandler(wf, ocr=ocr))) as client:
            started = time.monotonic()
            await sim.send_picture(buyer, picture, text="帮我抠图")
            assert await sim.wait_for_replies(buyer, 2, timeout=30)
            quoted_after = time.monotonic() - started
            assert await client.processor.idle(10)
    finally:
        presence.leave(wf.db, "idle-worker")
    assert texts(sim, buyer)[0] == PICTURE_ACK and "元" in texts(sim, buyer)[1]
    assert len(texts(sim, buyer)) == 2
    assert ocr.calls == 1
    assert 3.0 < quoted_after < 2 * 3.0  # one wait, not the turn's and then the tool's


class GatedOcr(StaticOcr):
    """No text, once released: an analysis that lasts as long as the test wants."""

    def __init__(self) -> None:
        super().__init__([])
        self.release = threading.Event()

    def read(self, rgb: NDArray[np.uint8]) -> list[OcrLine]:
        self.release.wait(60)
        return super().read(rgb)


async def test_pictures_no_worker_took_in_time_are_analysed_here_one_at_a_time(
    wf: Workflow, sim: GatewaySimulator
) -> None:
    """Past ``picture_job_wait_seconds`` the turns analyse their pictures in this process.

    One at a time: a quote tool per picture, each holding a thread while it waits for the
    serialised OCR, would again leave another customer's text turn no thread (2 here).
    """
    wf.settings.picture_job_wait_seconds = 0.5
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = 2
    buyers = [Customer(id=f"here-{i}") for i in range(3)]
    pictures = [sim.add_picture(f"h{i}.png", photo_png(31 + i)) for i in range(3)]
    other = Customer(id="txt-here")
    ocr = GatedOcr()
    presence.beat(wf.db, wf.clock, "idle-worker", "embedded")  # alive, but takes no job
    try:
        async with running(make_client(wf, sim, AgentHandler(wf, ocr=ocr))) as client:
            await send_pictures(sim, buyers, pictures)
            await asyncio.sleep(1.0)  # every turn has given up waiting for the workers
            await sim.say(other, "你好")
            answered = await sim.wait_for_replies(other, 1, timeout=20)
            ocr.release.set()
            for buyer in buyers:
                assert await sim.wait_for_replies(buyer, 2, timeout=30)
            assert await client.processor.idle(10)
            await asyncio.sleep(0.5)
    finally:
        ocr.release.set()
        limiter.total_tokens = 40
        presence.leave(wf.db, "idle-worker")
    assert answered
    assert_acknowledged_then_quoted(sim, buyers)
    assert ocr.calls == 3


async def test_no_acknowledgement_when_the_quote_is_ready_at_once(
    wf: Workflow, sim: GatewaySimulator
) -> None:
    picture = sim.add_picture("q.png", photo_png(7))
    buyer = Customer(id="pic-2")
    with WorkerThread(wf, StaticOcr()):
        async with running(make_client(wf, sim, AgentHandler(wf, ocr=StaticOcr()))) as client:
            wf.settings.picture_ack_after_seconds = 20.0
            await sim.send_picture(buyer, picture, text="变清晰")
            assert await sim.wait_for_replies(buyer, 1, timeout=30)
            assert await client.processor.idle(10)
    assert len(texts(sim, buyer)) == 1
    assert "元" in texts(sim, buyer)[0]


WORKER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from ai_cs.config import Settings
    from ai_cs.imaging.ocr import StaticOcr
    from ai_cs.jobs import presence
    from ai_cs.processing.worker import Worker
    from ai_cs.workflow import Workflow

    class Slow(StaticOcr):
        def read(self, rgb):
            print("analysing", flush=True)
            time.sleep(60)
            return []

    settings = Settings(
        _env_file=None, data_dir=sys.argv[2], picture_jobs=True, fetch_allowed_hosts=["127.0.0.1:*"]
    )
    wf = Workflow(database_url=sys.argv[1], settings=settings)
    worker = Worker(wf.db, wf.clock, settings, ocr=Slow(), lease_seconds=1.5)
    presence.beat(wf.db, wf.clock, worker.worker_id, "embedded")
    while worker.run_once() is None:
        time.sleep(0.05)
    """
)


async def test_a_worker_killed_mid_analysis_costs_a_retry_not_a_second_quote(
    wf: Workflow, sim: GatewaySimulator, database_url: str
) -> None:
    picture = sim.add_picture("k.png", photo_png(3))
    buyer = Customer(id="pic-3")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    doomed = subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT, database_url, str(wf.settings.data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while not presence.live_workers(wf.db, wf.clock) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)  # the child has announced itself: pictures go to it
        async with running(make_client(wf, sim, AgentHandler(wf, ocr=StaticOcr()))) as client:
            await sim.send_picture(buyer, picture, text="帮我抠图")
            assert doomed.stdout is not None
            line = await asyncio.wait_for(asyncio.to_thread(doomed.stdout.readline), 60)
            assert line.strip() == b"analysing", doomed.stderr.read()[-3000:]  # type: ignore[union-attr]
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(10)
            assert await sim.wait_for_replies(buyer, 1, timeout=10)
            assert texts(sim, buyer) == [PICTURE_ACK]
            # A healthy worker takes the job back once the dead one's lease has expired.
            with WorkerThread(wf, StaticOcr()):
                assert await sim.wait_for_replies(buyer, 2, timeout=60)
                assert await client.processor.idle(10)
                await asyncio.sleep(0.5)
    finally:
        if doomed.poll() is None:
            doomed.kill()
            doomed.wait(10)
        for stream in (doomed.stdout, doomed.stderr):
            if stream is not None:
                stream.close()
    assert len(texts(sim, buyer)) == 2
    assert "元" in texts(sim, buyer)[1]
    with wf.db.read() as session:
        jobs = list(session.execute(select(Job.kind, Job.status, Job.attempts)).all())
    assert [(j.kind, j.status, j.attempts) for j in jobs] == [(ANALYSE_PICTURE, "done", 2)]
    assert len(wf.list_tasks(customer_id=buyer.id)[0]) == 1
    assert load_result(Path(wf.settings.data_dir), picture) is not None


async def test_without_a_live_worker_the_turn_analyses_the_picture_itself_at_once(
    wf: Workflow, sim: GatewaySimulator
) -> None:
    picture = sim.add_picture("n.png", photo_png(5))
    buyer = Customer(id="pic-4")
    ocr = StaticOcr()
    async with running(make_client(wf, sim, AgentHandler(wf, ocr=ocr))) as client:
        started = time.monotonic()
        await sim.send_picture(buyer, picture, text="帮我抠图")
        assert await sim.wait_for_replies(buyer, 1, timeout=30)
        assert await client.processor.idle(10)
    assert time.monotonic() - started < wf.settings.picture_job_wait_seconds
    assert len(texts(sim, buyer)) == 1 and "元" in texts(sim, buyer)[0]  # no ack, the quote
    assert ocr.calls == 1
    with wf.db.read() as session:
        assert list(session.execute(select(Job.kind))) == []
