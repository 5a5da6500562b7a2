"""``aics chat``: talk to the shop as a customer in the terminal (text, ``/image PATH``, ``/pay``).

``/pay`` stands in for the marketplace: it sends the platform's payment event for the customer's
newest order waiting for payment, with the quoted amount (the agent itself can never pay).
When standard input is not a terminal, every line is one message and every reply is printed,
so conversations can be scripted: ``aics chat < conversation.txt``.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ai_cs.cli.common import console, err_console
from ai_cs.errors import AicsError

if TYPE_CHECKING:
    from ai_cs.conversations.handler import AgentHandler
    from ai_cs.workflow import Workflow

HELP = "输入文字聊天；/image 图片路径 [文字] 发图片；/pay 模拟平台付款；/tasks 查看订单；/quit 退出"


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


def _pay(workflow: Workflow, customer: str) -> str:
    pending = workflow.get_customer_tasks(customer, status="pending")
    if not pending:
        return "[平台] 您没有待付款的订单"
    task = pending[0]
    result = workflow.record_payment(
        customer,
        task["task_id"],
        payment_id=f"cli-{uuid.uuid4().hex[:12]}",
        amount_fen=task["price_fen"],
    )
    fen = task["price_fen"] or 0
    status = result.task["status"] if result.task else "-"
    return (
        f"[平台] 已付款 {fen / 100:.2f} 元，订单 {task['task_id']}：{result.outcome}，状态 {status}"
    )


def _tasks(workflow: Workflow, customer: str) -> str:
    rows = workflow.get_customer_tasks(customer)
    if not rows:
        return "[订单] 无"
    return "\n".join(
        f"[订单] {t['task_id']} {t['operation']} {t['status']} {(t['price_fen'] or 0) / 100:.2f} 元"
        for t in rows[:10]
    )


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
    ) -> None:
        """Chat with the shop's agent as a customer (scriptable through standard input)."""
        from ai_cs.conversations.handler import AgentHandler
        from ai_cs.imaging.ocr import StaticOcr
        from ai_cs.workflow import Workflow

        interactive = sys.stdin.isatty()
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
        if interactive:
            console.print(HELP, style="dim")
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
                    try:
                        if line == "/pay":
                            _say(_pay(workflow, customer), interactive, "平台")
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
            workflow.close()
