"""``aics demo``: the whole shop, end to end, on a fresh temporary database (CONTRACT §1).

Everything runs on loopback in this process, offline: the marketplace gateway simulator (the
customers), the gateway client with the agent, the processing worker with the real engines, the
result delivery, the API on a free port and the dispatch service (Tuhui) on another, with the
outbox relay between them and a designer working through the dispatch API over HTTP.

Steps, each checked against the database or the servers and printed as ✓/✗:

1. a customer sends a picture with text in it → analysis, risk and quote, a pending task;
2. the customer adds a note and changes the operation;
3. the customer pays (the payment event arrives three times) → processing;
4. the worker produces a real result file; the customer gets a link that serves it;
5. a second customer's job fails every attempt → a human designer gets it through the
   dispatch service, finishes it, and the result reaches that customer too;
6. both customers confirm → ``completed``.

The exit code is 0 only when every check passed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import typer

from ai_cs.cli.common import console
from ai_cs.core.money import yuan_fixed

if TYPE_CHECKING:
    # asyncio and the rest are imported where they are used: `aics --help` imports this module.
    import asyncio
    import socket
    from collections.abc import Awaitable, Callable

STEP_TIMEOUT: Final = 25.0
TOTAL_TIMEOUT: Final = 55.0


class Checks:
    """Prints each check as ✓/✗ and remembers whether all passed."""

    def __init__(self) -> None:
        self.failed = 0
        self.passed = 0
        self.started = time.monotonic()

    def step(self, title: str) -> None:
        """A numbered section header."""
        console.print(f"\n[bold]{title}[/bold]", highlight=False)

    def check(self, ok: bool, text: str) -> bool:
        """Record and print one check."""
        if ok:
            self.passed += 1
            console.print(f"  [green]✓[/green] {text}", highlight=False, soft_wrap=True)
        else:
            self.failed += 1
            console.print(f"  [red]✗[/red] {text}", highlight=False, soft_wrap=True)
        return ok

    def note(self, text: str) -> None:
        """Something worth seeing that is not a check (the conversation)."""
        console.print(f"    {text}", highlight=False, markup=False, soft_wrap=True)


def _free_socket() -> socket.socket:
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _cutout_png() -> bytes:
    """What the designer uploads for the failed cut-out: a subject on transparency."""
    import io

    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    ImageDraw.Draw(img).rounded_rectangle((100, 70, 300, 230), radius=30, fill=(40, 90, 200, 255))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


async def _until(predicate: Callable[[], Any], timeout: float = STEP_TIMEOUT) -> Any:
    """Poll ``predicate`` (run in a thread: it may read the database) until it is truthy."""
    import asyncio

    deadline = time.monotonic() + timeout
    while True:
        value = await asyncio.to_thread(predicate)
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.1)


async def run_demo(checks: Checks) -> None:
    """Set everything up in a temporary directory, play the scenario, tear everything down."""
    import asyncio
    import contextlib
    import tempfile

    import httpx
    import uvicorn

    from ai_cs.auth.service import create_key
    from ai_cs.config import Settings
    from ai_cs.gateway.client import GatewayClient
    from ai_cs.gateway.delivery import ResultDelivery
    from ai_cs.gateway.sim import GatewaySimulator
    from ai_cs.processing.worker import Worker
    from ai_cs.workflow import Workflow

    class QuietServer(uvicorn.Server):
        """uvicorn without its own signal handlers (Ctrl-C belongs to the demo)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Any:
            yield

    with tempfile.TemporaryDirectory(prefix="aics-demo-") as tmp:
        api_sock, dispatch_sock = _free_socket(), _free_socket()
        settings = Settings(
            _env_file=None,
            data_dir=Path(tmp) / "data",
            database_url=f"sqlite:///{Path(tmp) / 'demo.db'}",
            host="127.0.0.1",
            api_port=api_sock.getsockname()[1],
            dispatch_port=dispatch_sock.getsockname()[1],
            dispatch_url="",
            dispatch_api_key="",
            dispatch_callback_secret="",
            public_base_url="",
            gateway_url="",
            llm_model="",
            fetch_allowed_hosts=["127.0.0.1:*"],
            gateway_burst_window_ms=200,
            queue_backend="embedded",
        )
        settings.data_dir.mkdir(parents=True)
        console.print(f"fresh database in {tmp} (offline, loopback only)", highlight=False)
        wf = Workflow(settings=settings)
        stop = asyncio.Event()
        background: list[asyncio.Task[Any]] = []
        servers: list[uvicorn.Server] = []
        http_clients: list[httpx.Client] = []
        try:
            from ai_cs.api.app import create_app
            from ai_cs.dispatch.app import create_dispatch_app
            from ai_cs.dispatch.options import DispatchOptions
            from ai_cs.dispatch.relay import serve_relay

            api = create_app(settings, workflow=wf)
            dispatch = create_dispatch_app(
                settings,
                db=wf.db,
                clock=wf.clock,
                options=DispatchOptions(poll_interval=0.2, backoff=lambda _n: 0.5),
            )
            for app, sock in ((api, api_sock), (dispatch, dispatch_sock)):
                server = QuietServer(
                    uvicorn.Config(app, log_level="error", access_log=False, lifespan="on")
                )
                servers.append(server)
                background.append(asyncio.create_task(server.serve(sockets=[sock])))
            sim = await GatewaySimulator().start()
            background.append(asyncio.create_task(_stop_later(sim, stop)))
            client = GatewayClient(wf, url=sim.url, lease_seconds=10)
            delivery = ResultDelivery(
                wf.db, wf.clock, settings, on_queued=client.outbox_changed, poll_seconds=0.3
            )
            worker = Worker(wf.db, wf.clock, settings)
            background += [
                asyncio.create_task(client.run(stop)),
                asyncio.create_task(delivery.run(stop)),
                asyncio.create_task(worker.run_forever(stop, idle_sleep=0.2)),
                asyncio.create_task(
                    serve_relay(settings, wf.db, wf.clock, stop=stop, interval=0.2)
                ),
            ]
            await _until(lambda: all(s.started for s in servers) and client.connected.is_set())
            checks.note(f"handler: {type(client.handler).__name__}; gateway {sim.url}")
            designer_key = wf.db.run_write(
                lambda s: create_key(s, wf.clock, name="设计师小王", scope="designer")
            )
            designer = httpx.Client(
                base_url=f"http://127.0.0.1:{settings.dispatch_port}",
                headers={"Authorization": f"Bearer {designer_key}"},
                timeout=20,
                trust_env=False,
            )
            customer_http = httpx.Client(timeout=20, trust_env=False)
            http_clients += [designer, customer_http]
            await _scenario(checks, wf, sim, designer, customer_http)
        finally:
            stop.set()
            for running in servers:
                running.should_exit = True
            results = await asyncio.gather(*background, return_exceptions=True)
            for result in results:
                if isinstance(result, Exception):
                    checks.check(False, f"a background part failed: {result!r}")
            for http in http_clients:
                http.close()
            for sock in (api_sock, dispatch_sock):
                sock.close()
            wf.close()


async def _stop_later(sim: Any, stop: asyncio.Event) -> None:
    await stop.wait()
    await sim.stop()


async def _scenario(checks: Checks, wf: Any, sim: Any, designer: Any, http: Any) -> None:
    import asyncio
    import functools

    from ai_cs.gateway.sim import Customer, blank_picture, demo_picture

    alice = Customer(id="buyer-alice", nick="小李")
    bob = Customer(id="buyer-bob", nick="老王")

    async def say(person: Customer, action: Awaitable[str], replies: int) -> None:
        await action
        await sim.wait_for_replies(person, replies, timeout=STEP_TIMEOUT)
        for item in sim.messages_to(person)[replies - 1 : replies]:
            checks.note(f"客服 → {person.nick}: {item.text}")

    def tasks_of(person: Customer) -> list[dict[str, Any]]:
        return list(wf.get_customer_tasks(person.id))

    async def first_task(person: Customer, name: str, data: bytes, text: str) -> Any:
        """``person`` sends the picture ``name`` with ``text``; the task the chat made, or None."""
        picture = sim.add_picture(name, data)
        checks.note(f"{person.nick}: [图片 {name}] {text}")
        await say(person, sim.send_picture(person, picture, text=text), 1)
        return (await _until(lambda: tasks_of(person)) or [None])[0]

    # 1 ------------------------------------------------------------------------------------------
    checks.step("1. A customer sends a picture with text in it")
    task = await first_task(alice, "poster.png", demo_picture("SALE 50%"), "你好，这张图帮我抠图")
    if not checks.check(task is not None, "a task was created from the chat"):
        return
    tid = task["task_id"]
    reqs, quote, risk = task["requirements"] or {}, task["quote"] or {}, task["risk"] or {}
    checks.check(task["status"] == "pending", f"{tid} is pending (待付款)")
    checks.check(
        bool(reqs.get("text_found")) and "SALE" in str(reqs.get("text", "")),
        f"analysis read the text {reqs.get('text')!r}, complexity {reqs.get('complexity')!r}, "
        f"aspect ratio {reqs.get('aspect_ratio')!r}",
    )
    checks.check(risk.get("decision") == "accept", f"risk decision: {risk.get('decision')!r}")
    surcharge = (quote.get("surcharge") or {}).get("applied")
    checks.check(
        bool(task["price_fen"]) and bool(surcharge),
        f"quote {yuan_fixed(task['price_fen'] or 0)} 元 with the text surcharge",
    )

    # 2 ------------------------------------------------------------------------------------------
    checks.step("2. The customer adds a note and changes the operation")
    checks.note(f"{alice.nick}: 对了，要高清一点")
    await say(alice, sim.say(alice, "对了，要高清一点"), 2)
    checks.note(f"{alice.nick}: 改成要分层文件")
    await say(alice, sim.say(alice, "改成要分层文件"), 3)
    task = wf.get_task(tid)
    history = wf.get_task_requirement_history(tid)
    changes = {(h["change_type"], h["changed_by"]) for h in history}
    checks.check("要高清一点" in (task["customer_notes"] or ""), "the note is in customer_notes")
    checks.check(
        task["operation"] == "remove_bg_and_layer",
        f"the operation is now {task['operation']!r}",
    )
    checks.check(
        {("add_note", "customer"), ("modify_operation", "customer")} <= changes,
        f"both changes are in task_requirement_changes ({len(history)} rows)",
    )

    # 3 ------------------------------------------------------------------------------------------
    checks.step("3. Payment (the platform delivers the event three times)")
    price = int(task["price_fen"] or 0)
    checks.note(f"[平台] {alice.nick} 付款 {yuan_fixed(price)} 元 (order-alice)")
    await say(alice, sim.pay(alice, "order-alice", price, duplicates=3), 4)
    paid = await _until(lambda: wf.get_task(tid)["status"] != "pending")
    status = wf.get_task(tid)["status"]
    checks.check(
        bool(paid) and status in ("processing", "awaiting_confirm"),
        f"pending → paid → processing (now {status!r})",
    )
    paid_replies = [m for m in sim.messages_to(alice) if "已收到您的付款" in m.text]
    checks.check(len(paid_replies) == 1, "the payment was applied and answered once")

    # 4 ------------------------------------------------------------------------------------------
    checks.step("4. Processing produces a real result file, delivered with a link")
    done = await _until(lambda: wf.get_task(tid)["status"] == "awaiting_confirm")
    task = wf.get_task(tid)
    checks.check(bool(done), f"the worker finished: {task['status']!r}")
    from ai_cs.errors import AicsError
    from ai_cs.gateway.delivery import result_path

    try:
        data = result_path(wf.settings, task["result_image"] or "").read_bytes()
    except (AicsError, OSError):
        data = b""  # reported by the check below
    checks.check(
        data[:4] == b"8BPS" and len(data) > 1000,
        f"a layered PSD of {len(data) // 1024} KB: {task['result_image']}",
    )
    link_msg = await _until(lambda: _link(sim, alice))
    checks.check(bool(link_msg), "the customer got the result link (and a watermarked preview)")
    if link_msg:
        checks.note(f"客服 → {alice.nick}: {link_msg.splitlines()[0]} …")
        url = _url_in(link_msg)
        got = await asyncio.to_thread(http.get, url) if url else None
        checks.check(
            got is not None and got.status_code == 200 and got.content == data,
            f"GET {url} serves the file ({got.status_code if got is not None else 'no link'})",
        )

    # 5 ------------------------------------------------------------------------------------------
    checks.step("5. A second job fails and goes to a human designer (dispatch service)")
    bob_task = await first_task(bob, "blank.png", blank_picture((800, 600)), "帮我抠图")
    if not checks.check(bob_task is not None, "a task for the second customer"):
        return
    bid = bob_task["task_id"]
    await say(bob, sim.pay(bob, "order-bob", bob_task["price_fen"]), 2)
    handed = await _until(lambda: wf.get_task(bid)["status"] == "with_designer", 40)
    task_b = wf.get_task(bid)
    checks.check(
        bool(handed),
        f"the engine failed {task_b['retry_count']} times → {task_b['status']!r}: "
        f"{(task_b['designer_reason'] or '')[:70]}",
    )
    jobs = await _until(lambda: _open_jobs(designer, bid))
    if not checks.check(bool(jobs), "the relay posted the job to the dispatch service"):
        return
    job = jobs[0]
    checks.note(f"job {job['job_id']}: {job['operation']}, reason {job['reason'][:40]}…")
    claimed = await asyncio.to_thread(
        designer.post, f"/api/v1/jobs/{job['job_id']}/claim", json={"designer": "小王"}
    )
    checks.check(claimed.status_code == 200, f"designer 小王 claimed it ({claimed.status_code})")
    finished = await asyncio.to_thread(
        designer.post,
        f"/api/v1/jobs/{job['job_id']}/finish",
        data={"designer": "小王"},
        files={"result": ("cutout.png", _cutout_png(), "image/png")},
    )
    checks.check(
        finished.status_code == 200, f"and finished it with a file ({finished.status_code})"
    )
    back = await _until(lambda: wf.get_task(bid)["status"] == "awaiting_confirm")
    checks.check(bool(back), "the signed callback moved the task to awaiting_confirm")
    link_b = await _until(lambda: _link(sim, bob))
    checks.check(bool(link_b), "the second customer got the designer's result")

    # 6 ------------------------------------------------------------------------------------------
    checks.step("6. The customers confirm")
    for person, task_id in ((alice, tid), (bob, bid)):
        count = len(sim.messages_to(person)) + 1
        checks.note(f"{person.nick}: 收到了，很满意，谢谢")
        await say(person, sim.say(person, "收到了，很满意，谢谢"), count)
        completed = await _until(functools.partial(_has_status, wf, task_id, "completed"))
        checks.check(bool(completed), f"{task_id} is completed")
    checks.check(not sim.unacked, f"every event acked ({len(sim.record.acks)} acks)")


def _has_status(wf: Any, task_id: str, status: str) -> bool:
    return bool(wf.get_task(task_id)["status"] == status)


def _link(sim: Any, person: Any) -> str | None:
    for item in sim.messages_to(person):
        if "/r/" in item.text:
            return str(item.text)
    return None


def _url_in(text: str) -> str | None:
    import re

    found = re.search(r"https?://\S+?/r/[A-Za-z0-9_-]{32}", text)
    return found.group(0) if found else None


def _open_jobs(designer: Any, task_id: str) -> list[dict[str, Any]]:
    response = designer.get("/api/v1/jobs", params={"status": "open"})
    if response.status_code != 200:
        return []
    return [j for j in response.json()["data"] if j["task_id"] == task_id]


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command."""

    @app.command("demo")
    def demo_cmd(
        verbose: bool = typer.Option(False, "--verbose", help="Show the parts' log lines."),
    ) -> None:
        """End-to-end scenario on a fresh temporary database, offline (exit 0 = all passed)."""
        import asyncio
        import logging

        logging.basicConfig(
            level=logging.INFO if verbose else logging.CRITICAL,
            format="%(asctime)s %(name)s %(levelname)s %(message)s",
        )
        checks = Checks()

        async def main() -> None:
            try:
                await asyncio.wait_for(run_demo(checks), TOTAL_TIMEOUT)
            except TimeoutError:
                checks.check(False, f"the demo did not finish within {TOTAL_TIMEOUT:.0f} s")

        asyncio.run(main())
        elapsed = time.monotonic() - checks.started
        ok = checks.failed == 0 and checks.passed > 0
        colour = "green" if ok else "red"
        console.print(
            f"\n[{colour}]{checks.passed} checks passed, {checks.failed} failed[/{colour}] "
            f"in {elapsed:.1f} s",
            highlight=False,
        )
        raise typer.Exit(0 if ok else 1)
