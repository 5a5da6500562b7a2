"""Helpers for the dispatch tests: a restartable loopback server, pictures, hand-offs."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import uvicorn
from fastapi import FastAPI
from PIL import Image, ImageDraw
from starlette.types import Message, Receive, Scope, Send

from ai_cs import datafiles
from ai_cs.clock import Clock
from ai_cs.config import Settings
from ai_cs.dispatch import service
from ai_cs.dispatch.app import DispatchOptions
from ai_cs.dispatch.callback import CALLBACK_PATH
from ai_cs.dispatch.client import HttpDispatchClient
from ai_cs.dispatch.relay import RelayReport, deliver_due
from ai_cs.dispatch.schemas import JobCreate
from ai_cs.tasks.handoff import hand_to_designer
from ai_cs.web.errors import install_error_handlers
from ai_cs.workflow import Workflow


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """An ASGI app under uvicorn in a thread, on a fixed port, that can be stopped and restarted.

    Each start builds the app anew from ``factory`` (a fresh lifespan and event loop), the way a
    restarted process would.
    """

    def __init__(self, factory: Callable[[], FastAPI], port: int) -> None:
        self.factory = factory
        self.port = port
        self.app: FastAPI | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> LiveServer:
        self.app = self.factory()
        # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say they are TCP;
        # without it every response waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="on", ws="none"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"live-{self.port}", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            assert thread.is_alive(), "the server thread died while starting"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)
        self._server, self._thread, self._socket = server, thread, sock
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.should_exit = True
        assert self._thread is not None and self._socket is not None
        self._thread.join(20)
        assert not self._thread.is_alive(), "the server thread did not stop"
        self._socket.close()
        self._server = self._thread = self._socket = None


def create_jobs(workflow: Workflow, clock: Clock, n: int) -> list[str]:
    """``n`` new open dispatch jobs (each created, not found again), their ids in order."""
    ids = []
    for i in range(n):
        body = JobCreate(
            task_id=f"TASK_20260227_{i:03d}",
            original_image="https://xxx.com/a.jpg",
            operation="vectorize",
            reason="复杂图形",
        )
        job, created = workflow.db.run_write(
            lambda s, b=body, k=f"r{i}": service.create_job(s, clock, b, k)
        )
        assert created
        ids.append(job.job_id)
    return ids


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll until ``predicate()`` is truthy; return its value or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


# --- pictures ----------------------------------------------------------------------------------
def photo_png(width: int = 160, height: int = 120, seed: int = 1) -> bytes:
    """An opaque RGB picture with a subject on a background (the customer's original)."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(150, 200, size=(height, width, 3), dtype=np.uint8)
    img = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(img)
    draw.ellipse((width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill=(200, 40, 40))
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


def cutout_png(
    width: int = 160, height: int = 120, colour: tuple[int, int, int] = (40, 90, 200)
) -> bytes:
    """A transparent PNG with an opaque subject: what a designer delivers for ``remove_bg``."""
    img = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse(
        (width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill=(*colour, 255)
    )
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


def opaque_jpeg(width: int = 80, height: int = 60) -> bytes:
    """An opaque JPEG."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def layered_psd(layers: int = 2) -> bytes:
    """A PSD with ``layers`` pixel layers (``remove_bg_and_layer`` delivers these)."""
    from psd_tools import PSDImage

    psd = PSDImage.new("RGBA", (64, 48))
    for index in range(layers):
        colour = (255 - 60 * index, 40 * index, 90, 255)
        psd.create_pixel_layer(
            Image.new("RGBA", (64 - 8 * index, 48 - 6 * index), colour), name=f"L{index}"
        )
    buffer = io.BytesIO()
    psd.save(buffer)
    return buffer.getvalue()


SVG_LOGO = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" '
    b'onload="alert(1)"><script>alert(2)</script><circle cx="20" cy="20" r="15" fill="red"/></svg>'
)


def store_original(settings: Settings, data: bytes) -> Path:
    """Put a customer's picture into the data directory under its key, as intake does."""
    return settings.data_dir / datafiles.put(settings.data_dir, "images", data, "png")


def paid_task(
    workflow: Workflow, original: Path, operation: str = "remove_bg", **extra: Any
) -> str:
    """A task created from an analysed picture and paid (now ``processing``)."""
    task = workflow.image_analysis_result(
        "customer_123",
        str(original),
        "complex",
        "4:3",
        "no",
        operation=operation,
        customer_notes="[02-27 18:00] 背景去干净，边缘要平滑",
        acc_id="shop_a",
        acc_type="xianyu",
        price_fen=2500,
        quote={"operation": operation, "total_fen": 2500, "items": []},
        **extra,
    )
    paid = workflow.trigger_processing_on_payment(
        "customer_123", task_id=task["task_id"], payment_id=f"PAY-{task['task_id']}"
    )
    assert paid["status"] == "processing"
    return str(task["task_id"])


def hand_off(workflow: Workflow, task_id: str, reason: str) -> dict[str, Any]:
    """``hand_to_designer`` in one committed transaction, as the worker does it."""
    return workflow.db.run_write(
        lambda session: hand_to_designer(session, workflow.clock, task_id, reason)
    )


# --- both servers ---------------------------------------------------------------------------
FAST = DispatchOptions(poll_interval=0.1, reminder_interval=0.2, backoff=lambda _attempts: 0.3)


class CallbackRecorder:
    """ASGI middleware that keeps the headers and raw body of every callback request."""

    def __init__(self, app: Any, seen: list[tuple[dict[str, str], bytes]]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != CALLBACK_PATH:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.seen.append((headers, body))
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def make_api_app(settings: Settings, workflow: Workflow) -> FastAPI:
    """The API on 6060: the real one when installed, else the callback router on a bare app."""
    try:
        from ai_cs.api.app import create_app
    except ModuleNotFoundError:
        from ai_cs.dispatch.callback import router

        app = FastAPI()
        app.state.settings = settings
        app.state.db = workflow.db
        app.state.clock = workflow.clock
        install_error_handlers(app)
        app.include_router(router)
        return app
    return create_app(settings, workflow=workflow)


@dataclass
class Shop:
    """ai-cs (workflow + API server) and the dispatch service, wired like ``aics serve``."""

    settings: Settings
    workflow: Workflow
    dispatch: LiveServer
    api: LiveServer
    keys: dict[str, str]
    relay_client: HttpDispatchClient
    callbacks: list[tuple[dict[str, str], bytes]]
    _clients: list[httpx.Client] = field(default_factory=list)

    def relay(self, clock: Clock | None = None) -> RelayReport:
        """One pass of the outbox relay, as the relay loop would run it."""
        return deliver_due(self.workflow.db, clock or self.workflow.clock, self.relay_client)

    def client(self, key_name: str) -> httpx.Client:
        """An HTTP client of the dispatch service with one of the keys."""
        http = httpx.Client(
            base_url=self.dispatch.url,
            headers={"Authorization": f"Bearer {self.keys[key_name]}"},
            timeout=30,
        )
        self._clients.append(http)
        return http

    def close(self) -> None:
        for http in self._clients:
            http.close()
        self.relay_client.close()
        self.dispatch.stop()
        self.api.stop()
