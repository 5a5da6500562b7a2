"""``aics chat``: talk to the shop as a customer in the terminal (text, ``/image PATH``, ``/pay``).

``/pay`` stands in for the marketplace: it sends the platform's payment event for the customer's
newest order waiting for payment, with the quoted amount (the agent itself can never pay). The
shop then answers as it would on the marketplace: a receipt, and when the work is done the result
(a link when the API is running, and the file on this machine) or word that a designer has it.

An order paid here is processed whether or not ``aics serve`` runs: when no worker is alive on the
same database (``worker_presence``), the chat runs one itself for as long as it is open.

When standard input is not a terminal, every line is one message and every reply is printed, so
conversations can be scripted: ``aics chat < conversation.txt``. There, ``/pay`` waits (bounded)
until the paid order has its result or a designer, so the next line sees the order as it is.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import typer

from ai_cs.cli.common import console, err_console
from ai_cs.errors import AicsError

if TYPE_CHECKING:
    from ai_cs.agent.handler import AgentHandler
    from ai_cs.config import Settings
    from ai_cs.runtime import BackgroundWorker
    from ai_cs.workflow import Workflow

HELP = "输入文字聊天；/image 图片路径 [文字] 发图片；/pay 模拟平台付款；/tasks 查看订单；/quit 退出"
COMMANDS = frozenset({"/image", "/pay", "/tasks", "/help", "/quit", "/exit"})


def _unknown_command(line: str) -> str | None:
    """The first word when it looks like a command (``/`` and letters) that chat does not know."""
    word = line.split(maxsplit=1)[0]
    if word.startswith("/") and word[1:].isascii() and word[1:].isalpha() and word not in COMMANDS:
        return word
    return None


SETTLED: Final = frozenset(
    {"awaiting_confirm", "with_designer", "failed", "completed", "cancelled", "refunded"}
)
"""Statuses after which a paid order needs nothing more from the worker."""

SCRIPTED_WAIT_SECONDS: Final = 300.0
"""How long a scripted ``/pay`` waits for the order to settle before the next line."""


def _lines(interactive: bool) -> Iterator[str]:
    if not interactive:
        for line in sys.stdin:
            yield line.rstrip("\n")
        return
    while True:
        try:
            yield console.input("[bold green]你：[/bold green]")
        except (EOFError, KeyboardInterrupt):
            return


def _say(text: str, interactive: bool, who: str = "客服") -> None:
    if interactive:
        console.print(f"[bold cyan]{who}：[/bold cyan]{text}", highlight=False, soft_wrap=True)
    else:
        typer.echo(text)


def _announce(text: str, interactive: bool) -> None:
    """A message the shop sends on its own (a result is ready) while the customer may be typing."""
    if not interactive:
        typer.echo(text)
        return
    # Over the waiting prompt, then the prompt again, as a chat app shows an incoming message.
    console.print(f"\r[bold cyan]客服：[/bold cyan]{text}", highlight=False, soft_wrap=True)
    console.print("[bold green]你：[/bold green]", end="")


def pay(workflow: Workflow, customer: str) -> tuple[str, str | None]:
    """Pay the customer's newest pending order as the platform would; the shop's receipt.

    Returns the receipt and the paid task id (``None`` when nothing was paid).
    """
    import uuid

    from ai_cs.core import wording
    from ai_cs.tasks.schemas import Order

    pending = workflow.get_customer_tasks(customer, status="pending")
    if not pending:
        return "您目前没有待付款的订单哦～把图片发给我就可以报价啦。", None
    task = pending[0]
    result = workflow.record_payment(
        customer,
        task["task_id"],
        payment_id=f"cli-{uuid.uuid4().hex[:12]}",
        amount_fen=task["price_fen"],
    )
    paid = result.order or Order.of(task)
    text = wording.payment_received(
        result.outcome,
        paid.task_id,
        task["price_fen"],
        price_fen=paid.price_fen,
        status=paid.status,
    )
    return text, paid.task_id if result.outcome == wording.PAYMENT_APPLIED else None


def _api_answers(settings: Settings) -> bool:
    """Whether ``aics serve``'s API answers on this machine (then result links work)."""
    import httpx

    from ai_cs.gateway.delivery import public_base_url

    try:
        return httpx.get(f"{public_base_url(settings)}/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def settled_message(workflow: Workflow, task: dict[str, Any]) -> str:
    """What the shop tells the customer about a paid order that has settled."""
    from ai_cs import datafiles
    from ai_cs.core import wording

    task_id = str(task["task_id"])
    status = task["status"]
    if status == "awaiting_confirm" and task.get("result_image"):
        settings = workflow.settings
        path = datafiles.stored_file(settings.data_dir, task["result_image"])
        local = f"本机文件：{path}" if path is not None else ""
        link = _result_link(workflow, task) if _api_answers(settings) else None
        if link is None:
            return wording.result_ready(task_id, str(path) if path else task["result_image"])
        from ai_cs.gateway.delivery import LINK_DAYS

        return wording.result_ready(task_id, link, link_days=LINK_DAYS) + f"\n{local}"
    if status in ("with_designer", "failed"):
        return wording.with_designer(task_id)
    return f"订单 {task_id}：{wording.STATUS_NAMES.get(status, status)}"


def _result_link(workflow: Workflow, task: dict[str, Any]) -> str | None:
    """A customer download link for the result (the same kind the marketplace gets)."""
    from ai_cs.gateway.delivery import Deliverable, record_link

    item = Deliverable(
        task_id=str(task["task_id"]),
        result_image=str(task["result_image"]),
        customer_id=str(task["customer_id"]),
        account_id=str(task.get("acc_id") or ""),
        conversation_id=str(task.get("conversation_id") or ""),
    )
    with workflow.db.write() as session:
        recorded = record_link(session, workflow.clock, workflow.settings, item)
    return recorded[1] if recorded is not None else None


class OrderWatch:
    """Paid orders this chat waits on, announced once each when they settle."""

    def __init__(
        self,
        workflow: Workflow,
        say: Callable[[str], None],
        on_wait: Callable[[], None] = lambda: None,
    ) -> None:
        self.workflow = workflow
        self.say = say
        self.on_wait = on_wait  # called on every poll while an order waits
        self._waiting: set[str] = set()
        self._lock = threading.Lock()

    def add(self, task_id: str) -> None:
        """Watch ``task_id`` until it settles."""
        with self._lock:
            self._waiting.add(task_id)

    def poll(self) -> None:
        """Announce every watched order that has settled since the last poll."""
        with self._lock:
            waiting = sorted(self._waiting)
        if waiting:
            self.on_wait()
        for task_id in waiting:
            task = self.workflow.get_task(task_id)
            if task["status"] in SETTLED:
                with self._lock:
                    self._waiting.discard(task_id)
                self.say(settled_message(self.workflow, task))

    def wait(self, timeout: float) -> bool:
        """Poll until nothing is waiting or ``timeout`` passes; whether everything settled."""
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            with self._lock:
                if not self._waiting:
                    return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.3)

    def follow(self, stop: threading.Event) -> None:
        """Poll every half second until ``stop`` (the interactive chat's thread)."""
        while not stop.wait(0.5):
            try:
                self.poll()
            except AicsError as exc:
                err_console.print(f"[red]{exc.code}[/red]: {exc.message}")


class WorkerOnDemand:
    """Runs a worker in this process whenever no live one serves the database.

    Checked at start and again while paid orders wait, so a server that stops (or a chat that
    was killed and left a fresh heartbeat behind) never leaves a paid order without a worker.
    """

    def __init__(self, workflow: Workflow, *, enabled: bool = True) -> None:
        self.workflow = workflow
        self.enabled = enabled
        self.worker: BackgroundWorker | None = None
        self._lock = threading.Lock()

    def ensure(self) -> None:
        """Start the in-process worker unless one runs here already or elsewhere."""
        from ai_cs.jobs.presence import live_workers
        from ai_cs.runtime import BackgroundWorker, Runtime

        with self._lock:
            if not self.enabled or self.worker is not None:
                return
            if live_workers(self.workflow.db, self.workflow.clock) > 0:
                return
            self.worker = BackgroundWorker(Runtime(self.workflow.settings, workflow=self.workflow))
            self.worker.start()

    def stop(self) -> None:
        """Stop the in-process worker, if one was started."""
        with self._lock:
            if self.worker is not None:
                self.worker.stop()
                self.worker = None


async def _turn(
    handler: AgentHandler, args: dict[str, str], text: str, picture: Path | None
) -> list[str]:
    from ai_cs.conversations.contracts import Attachment, InboundMessage

    message = InboundMessage(
        platform=args["platform"],
        account_id=args["account"],
        conversation_id=args["conversation"],
        customer_id=args["customer"],
        customer_nick=args["nick"] or None,
        text=text,
        attachments=(Attachment(url=str(picture)),) if picture is not None else (),
    )
    return [reply.text for reply in await handler.handle(message)]


def _tasks(workflow: Workflow, customer: str) -> str:
    from ai_cs.core.money import yuan
    from ai_cs.core.pricing import OPERATION_LABELS
    from ai_cs.core.wording import STATUS_NAMES

    rows = workflow.get_customer_tasks(customer)
    if not rows:
        return "您目前还没有订单～"
    return "\n".join(
        f"订单 {t['task_id']}：{OPERATION_LABELS.get(t['operation'], t['operation'])}，"
        f"{STATUS_NAMES.get(t['status'], t['status'])}，"
        f"{yuan(t['price_fen'] or 0)} 元"
        for t in rows[:10]
    )


def register(app: typer.Typer) -> None:
    """Add the ``chat`` command."""

    @app.command("chat")
    def chat_cmd(
        customer: str = typer.Option("cli_customer", "--customer", help="Customer id."),
        conversation: str | None = typer.Option(
            None, "--conversation", help="Conversation id (default: one per customer)."
        ),
        platform: str = typer.Option("cli", "--platform", help="Platform (the seed's acc_type)."),
        account: str = typer.Option("cli_shop", "--account", help="Shop account (acc_id)."),
        nick: str = typer.Option("", "--nick", help="Customer nickname."),
        no_ocr: bool = typer.Option(False, "--no-ocr", help="Skip reading text in pictures."),
        no_worker: bool = typer.Option(
            False, "--no-worker", help="Never run a worker here (paid orders wait for one)."
        ),
        wait: float = typer.Option(
            SCRIPTED_WAIT_SECONDS,
            "--wait",
            min=0,
            help="Scripted chats: seconds /pay waits for the result before the next line.",
        ),
    ) -> None:
        """Chat with the shop's agent as a customer (scriptable through standard input)."""
        import asyncio

        from ai_cs.agent.handler import AgentHandler
        from ai_cs.imaging.ocr import StaticOcr
        from ai_cs.workflow import Workflow

        interactive = sys.stdin.isatty()
        if interactive:
            from ai_cs.agent.intent_model import warm_up

            warm_up()  # trained while the customer types the first message
        args = {
            "customer": customer,
            "conversation": conversation or f"chat-{platform}-{account}-{customer}",
            "platform": platform,
            "account": account,
            "nick": nick,
        }
        workflow = Workflow()
        handler = AgentHandler(
            workflow, ocr=StaticOcr() if no_ocr else None, allow_local_files=True
        )
        worker = WorkerOnDemand(workflow, enabled=not no_worker)
        worker.ensure()
        watch = OrderWatch(workflow, lambda text: _announce(text, interactive), worker.ensure)
        following = threading.Event()
        if interactive:
            console.print(HELP, style="dim")
            threading.Thread(target=watch.follow, args=(following,), daemon=True).start()
        try:
            with asyncio.Runner() as runner:
                for raw in _lines(interactive):
                    line = raw.strip()
                    if not line:
                        continue
                    if line in ("/quit", "/exit"):
                        break
                    if line == "/help":
                        _say(HELP, interactive, "帮助")
                        continue
                    command = _unknown_command(line)
                    if command:
                        # A mistyped command (/picture, /img) is not a message to the shop.
                        err_console.print(f"没有 {command} 这个命令。{HELP}")
                        continue
                    try:
                        if line == "/pay":
                            receipt, paid = pay(workflow, customer)
                            _say(receipt, interactive)
                            if paid is not None:
                                watch.add(paid)
                                if not interactive and not watch.wait(wait):
                                    _say(f"订单 {paid} 还在处理中，完成后会通知您～", False)
                            continue
                        if line == "/tasks":
                            _say(_tasks(workflow, customer), interactive, "订单")
                            continue
                        picture = None
                        text = line
                        if line.startswith("/image"):
                            _, _, rest = line.partition(" ")
                            path_text, _, text = rest.strip().partition(" ")
                            picture = Path(path_text).expanduser().resolve()
                            if not path_text or not picture.is_file():
                                err_console.print(f"找不到图片：{path_text!r}")
                                continue
                        for reply in runner.run(_turn(handler, args, text, picture)):
                            _say(reply, interactive)
                    except AicsError as exc:
                        err_console.print(f"[red]{exc.code}[/red]: {exc.message}")
        finally:
            following.set()
            worker.stop()
            workflow.close()
