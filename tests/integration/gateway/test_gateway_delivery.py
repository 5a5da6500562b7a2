"""Result delivery: a link and a watermarked preview once per result, served safely; confirm."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from gateway_helpers import EchoHandler, make_client, running
from PIL import Image, ImageDraw
from sqlalchemy import select

from ai_cs.agent.handler import AgentHandler
from ai_cs.api.server import ThreadedServer
from ai_cs.clock import FixedClock, SystemClock
from ai_cs.config import Settings
from ai_cs.core.tasks import TaskStatus
from ai_cs.db.models import OutboxMessage
from ai_cs.gateway.delivery import ResultDelivery
from ai_cs.gateway.routes import router
from ai_cs.gateway.sim import Customer, GatewaySimulator
from ai_cs.marketplace.models import GatewayOutbox
from ai_cs.processing.storage import LocalStorage
from ai_cs.tasks import service
from ai_cs.web.errors import install_error_handlers
from ai_cs.workflow import Workflow

SHANGHAI_NOON = datetime.fromisoformat("2026-02-27T12:00:00+08:00")
LINK = re.compile(r"/r/([A-Za-z0-9_-]{32})")
SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<rect width="9" height="9"/></svg>'
)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(SHANGHAI_NOON)


@pytest.fixture
def wf(database_url: str, gw_settings: Settings, clock: FixedClock) -> Iterator[Workflow]:
    with Workflow(database_url=database_url, settings=gw_settings, clock=clock) as workflow:
        yield workflow


def cutout_png() -> bytes:
    img = Image.new("RGBA", (1600, 1200), (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((300, 200, 1300, 1000), fill=(200, 30, 40, 255))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def finished_task(
    wf: Workflow, data: bytes, ext: str, customer: str = "c-1", *, as_path: bool = False
) -> tuple[str, str]:
    """A paid task whose result is stored and which waits for the customer's confirmation."""
    key = LocalStorage(wf.settings.data_dir).put(data, ext)
    result = str((wf.settings.data_dir / key).resolve()) if as_path else key
    task = wf.create_image_task(
        customer,
        "http://x/original.png",
        "remove_bg",
        price_fen=3000,
        acc_id="shop-1",
        acc_type="xianyu",
        conversation_id=f"conv-{customer}",
    )
    tid = task["task_id"]
    wf.trigger_processing_on_payment(customer, task_id=tid, payment_id=f"pay-{tid}")
    wf.db.run_write(
        lambda s: service.transition(
            s, wf.clock, tid, TaskStatus.AWAITING_CONFIRM, result_image=result
        )
    )
    return tid, key


def results_app(wf: Workflow) -> FastAPI:
    app = FastAPI()
    app.state.settings = wf.settings
    app.state.db = wf.db
    app.state.clock = wf.clock
    install_error_handlers(app)  # as in the API app that includes the router
    app.include_router(router)
    return app


def outbox(wf: Workflow) -> list[dict[str, Any]]:
    import json

    with wf.db.read() as s:
        rows = s.execute(select(GatewayOutbox).order_by(GatewayOutbox.id)).scalars()
        return [{"command_id": r.command_id, "to": r.to, **json.loads(r.message)} for r in rows]


def test_a_finished_raster_result_is_announced_once_with_a_preview_and_served_safely(
    wf: Workflow, clock: FixedClock
) -> None:
    data = cutout_png()
    tid, _key = finished_task(wf, data, "png")
    delivery = ResultDelivery(wf.db, clock, wf.settings)
    assert delivery.deliver_once() == [tid]
    assert delivery.deliver_once() == []  # once per task and result

    sent = outbox(wf)
    assert [m["kind"] for m in sent] == ["image", "text"]
    assert all(m["to"] == "c-1" for m in sent)
    preview_url = sent[0]["attachments"][0]["url"]
    assert preview_url.endswith("/preview")
    assert sent[0]["attachments"][0]["width"] == 1024
    text = sent[1]["text"]
    assert tid in text and "确认" in text and "重做" in text
    match = LINK.search(text)
    assert match is not None
    token = match.group(1)
    assert preview_url.endswith(f"/r/{token}/preview")

    with ThreadedServer(results_app(wf)) as server, httpx.Client(base_url=server.url) as http:
        got = http.get(f"/r/{token}")
        assert got.status_code == 200 and got.content == data
        assert got.headers["content-type"] == "image/png"
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["referrer-policy"] == "no-referrer"

        preview = http.get(f"/r/{token}/preview")
        assert preview.status_code == 200 and preview.headers["content-type"] == "image/png"
        with Image.open(io.BytesIO(preview.content)) as img:
            assert img.size == (1024, 768)
            rgb = img.convert("RGB")
            # The watermark covers the subject itself, not only the background around it.
            subject = [rgb.getpixel((x, y)) for x in range(350, 670, 4) for y in range(250, 520, 4)]
            marked = sum(1 for px in subject if px != (200, 30, 40))
            assert marked > 0.05 * len(subject)

        for bad in ("A" * 32, "../../etc/passwd", "short", "A" * 31 + "!"):
            miss = http.get(f"/r/{bad}")
            assert miss.status_code == 404
            assert miss.json()["error"]["code"] == "not_found"

        clock.advance(31 * 86400)
        expired = http.get(f"/r/{token}")
        assert expired.status_code == 410
        assert expired.json()["error"]["code"] == "link_expired"


def test_svg_results_get_no_preview_and_a_strict_content_security_policy(
    wf: Workflow, clock: FixedClock
) -> None:
    tid, _ = finished_task(wf, SVG, "svg")
    assert ResultDelivery(wf.db, clock, wf.settings).deliver_once() == [tid]
    sent = outbox(wf)
    assert [m["kind"] for m in sent] == ["text"]
    token = LINK.search(sent[0]["text"]).group(1)  # type: ignore[union-attr]
    with ThreadedServer(results_app(wf)) as server, httpx.Client(base_url=server.url) as http:
        got = http.get(f"/r/{token}")
        assert got.status_code == 200 and got.content == SVG
        assert got.headers["content-type"].startswith("image/svg+xml")
        assert (
            got.headers["content-security-policy"]
            == "default-src 'none'; style-src 'unsafe-inline'"
        )
        assert got.headers["x-content-type-options"] == "nosniff"
        assert http.get(f"/r/{token}/preview").status_code == 404


def test_a_designers_result_stored_by_path_is_delivered_and_served(
    wf: Workflow, clock: FixedClock
) -> None:
    data = cutout_png()
    tid, _ = finished_task(wf, data, "png", as_path=True)
    assert ResultDelivery(wf.db, clock, wf.settings).deliver_once() == [tid]
    token = LINK.search(outbox(wf)[-1]["text"]).group(1)  # type: ignore[union-attr]
    with ThreadedServer(results_app(wf)) as server, httpx.Client(base_url=server.url) as http:
        assert http.get(f"/r/{token}").content == data


@pytest.mark.anyio
async def test_the_customer_confirms_in_chat_or_asks_for_a_revision(
    wf: Workflow, sim: GatewaySimulator
) -> None:
    wf.clock = SystemClock()  # the lanes' burst timing needs a moving clock
    happy, unhappy = Customer(id="c-1"), Customer(id="c-2")
    pleased, _ = finished_task(wf, cutout_png(), "png", "c-1")
    redo, _ = finished_task(wf, SVG, "svg", "c-2")
    # The shop's agent answers: its confirm_receipt and hand_to_human tools are the only way a
    # chat turn confirms an order or sends it back to a designer.
    client = make_client(wf, sim, AgentHandler(wf))
    delivery = ResultDelivery(wf.db, wf.clock, wf.settings, on_queued=client.outbox_changed)
    stop = asyncio.Event()
    async with running(client):
        loop = asyncio.create_task(delivery.run(stop))
        try:
            assert await sim.wait_for_replies(happy, 2)  # preview + link
            assert await sim.wait_for_replies(unhappy, 1)  # link only (SVG)
            await sim.say(happy, "收到了，很满意")
            await sim.say(unhappy, "不满意，线条重做一下")
            assert await sim.wait_for_replies(happy, 3)
            assert await sim.wait_for_replies(unhappy, 2)
        finally:
            stop.set()
            await loop
    assert wf.get_task(pleased)["status"] == "completed"
    assert wf.get_task(pleased)["completed_at"]  # stamped by the transition, on this path too
    assert wf.get_task(redo)["completed_at"] is None
    assert "确认" in sim.messages_to(happy)[-1].text
    assert wf.get_task(redo)["status"] == "with_designer"
    assert "重做" in wf.get_task(redo)["designer_reason"]
    with wf.db.read() as s:
        keys = list(s.execute(select(OutboxMessage.key)).scalars())
    assert keys == [f"dispatch:{redo}:1"]
    assert "设计师" in sim.messages_to(unhappy)[-1].text


@pytest.mark.anyio
async def test_the_gateway_never_confirms_on_its_own_the_handler_gets_the_turn(
    wf: Workflow, sim: GatewaySimulator
) -> None:
    wf.clock = SystemClock()
    tid, _ = finished_task(wf, cutout_png(), "png", "c-3")
    handler = EchoHandler()
    async with running(make_client(wf, sim, handler)) as client:
        await sim.say(Customer(id="c-3"), "确认")
        assert await sim.wait_for_replies(Customer(id="c-3"), 1)
        assert await client.processor.idle(5)
    assert [t.text for t in handler.turns] == ["确认"]
    assert wf.get_task(tid)["status"] == "awaiting_confirm"  # only a verb the handler calls
