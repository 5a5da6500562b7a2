"""Plays the labelled buyer corpus through the real agent and scores every expectation.

Each conversation runs through :class:`~ai_cs.agent.handler.AgentHandler` on a real database
(a temporary SQLite file unless a URL is given), with generated pictures and no OCR model, as a
customer of its own. The platform's side of a purchase is simulated where the corpus says so
(``pay``: the payment event; ``finish``: the worker delivered a result). A conversation passes
when every expectation holds:

* the orders it should open, with their operation, status and stored requirements, and no other;
* the hand-off (the conversation flagged for staff), no designer when the issue is a refund;
* a declined request opens nothing and stores no note;
* every reply answers: the words the turn expects, the current order's price where asked,
  no "没太明白" for a clear message, no request for a picture already sent, no sentence twice.

Used by ``aics bench`` (``conversations_*`` figures) and by the tests (a held-out subset).
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sqlalchemy.orm import Session

from ai_cs.agent.corpus import CorpusConversation, Turn
from ai_cs.agent.handler import AgentHandler
from ai_cs.clock import Clock
from ai_cs.config import Settings
from ai_cs.conversations.contracts import Attachment, InboundMessage
from ai_cs.conversations.models import Conversation
from ai_cs.core.money import yuan as yuan_text
from ai_cs.core.quoting import requote
from ai_cs.core.tasks import Operation, TaskStatus
from ai_cs.tasks import service
from ai_cs.workflow import Workflow

FALLBACK_MARK: Final = "没太明白"
ASK_PICTURE_MARKS: Final = ("图片发给我", "发图片给我", "还没收到图片", "把图发给我", "发图给我")
"""How a reply asks for a picture; never right once the customer sent one."""
DECLINE_MARKS: Final = ("没法接", "不能接", "无法接", "不接")


# --- results -------------------------------------------------------------------------------------
@dataclass
class ConversationResult:
    """What happened in one conversation and which expectations failed."""

    conversation: CorpusConversation
    replies: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    orders_right: bool = True

    @property
    def passed(self) -> bool:
        """Every expectation held."""
        return not self.failures


@dataclass
class Report:
    """Accuracy of a run, overall and per category."""

    results: list[ConversationResult]

    def accuracy(self, category: str | None = None) -> float:
        """Share of conversations meeting every expectation."""
        chosen = [
            r for r in self.results if category is None or r.conversation.category == category
        ]
        return sum(r.passed for r in chosen) / len(chosen) if chosen else 0.0

    def order_accuracy(self) -> float:
        """Share of conversations whose orders (operation, details, status) are right."""
        return sum(r.orders_right for r in self.results) / len(self.results) if self.results else 0

    def by_category(self) -> dict[str, tuple[int, int]]:
        """``category → (passed, total)``."""
        table: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in self.results:
            row = table[r.conversation.category]
            row[0] += int(r.passed)
            row[1] += 1
        return {k: (v[0], v[1]) for k, v in sorted(table.items())}

    def failures(self) -> list[str]:
        """One line per failed conversation."""
        return [
            f"{r.conversation.id} {r.conversation.category}: " + " | ".join(r.failures)
            for r in self.results
            if not r.passed
        ]

    def table(self) -> str:
        """A per-category text table (for BENCHMARKS.md and the console)."""
        lines = ["| category | passed | total | accuracy |", "|---|---|---|---|"]
        for name, (ok, total) in self.by_category().items():
            lines.append(f"| {name} | {ok} | {total} | {ok / total:.0%} |")
        total = len(self.results)
        ok = sum(r.passed for r in self.results)
        lines.append(f"| **all** | {ok} | {total} | {ok / total:.0%} |" if total else "")
        return "\n".join(lines)


# --- pictures ----------------------------------------------------------------------------------
def _pictures(directory: Path, count: int) -> list[Path]:
    """Distinct generated product shots (a bottle on a plain background, colours vary)."""
    from PIL import Image, ImageDraw

    paths = []
    for index in range(count):
        img = Image.new("RGB", (480, 480), (236, 238, 240))
        draw = ImageDraw.Draw(img)
        body = ((40 + 53 * index) % 220, (90 + 31 * index) % 220, (200 + 17 * index) % 220)
        draw.rounded_rectangle((150, 140, 330, 430), radius=30, fill=body)
        draw.rectangle((210, 70, 270, 140), fill=body)
        draw.rectangle((200, 45, 280, 72), fill=(30, 30, 30))
        draw.rectangle((150, 240, 330, 300), fill=(250, 250, 245))
        path = directory / f"picture_{index}.png"
        img.save(path)
        paths.append(path)
    return paths


# --- checks ------------------------------------------------------------------------------------
def _lookup(requirements: dict[str, Any], dotted: str) -> Any:
    value: Any = requirements
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _sentences(reply: str) -> list[str]:
    return [s.strip() for s in re.split(r"[。！？!?～\n]", reply) if len(s.strip()) >= 6]


def check_reply(turn: Turn, reply: str, *, picture_sent: bool, price: str | None) -> list[str]:
    """The failures of one reply against its turn's expectations and the general rules."""
    failures = []
    expect = turn.expect
    if not reply.strip():
        return ["no reply"]
    if FALLBACK_MARK in reply and not expect.get("unclear"):
        failures.append("fallback reply")
    if picture_sent and any(mark in reply for mark in ASK_PICTURE_MARKS):
        failures.append("asked for a picture already sent")
    for group in expect.get("has", []):
        if not any(word.lower() in reply.lower() for word in group):
            failures.append(f"reply lacks {'/'.join(group)}")
    for word in expect.get("no", []):
        if word in reply:
            failures.append(f"reply says {word}")
    if expect.get("price"):
        if price is None:
            failures.append("no order to price")
        elif f"{price} 元" not in reply:
            failures.append(f"reply lacks the price {price} 元")
    if expect.get("decline") and not any(mark in reply for mark in DECLINE_MARKS):
        failures.append("not declined")
    sentences = _sentences(reply)
    if len(sentences) != len(set(sentences)):
        failures.append("a sentence repeated")
    return failures


def check_outcome(
    conv: CorpusConversation, workflow: Workflow, customer: str
) -> tuple[list[str], bool]:
    """Failures of the conversation's end state (orders, hand-off, declines); orders right?"""
    failures: list[str] = []
    expect = conv.expect
    tasks = sorted(workflow.get_customer_tasks(customer), key=lambda t: str(t["task_id"]))
    wanted: list[dict[str, Any]] = expect.get("orders", [])
    orders_ok = True
    if len(tasks) != len(wanted):
        failures.append(f"{len(tasks)} orders, expected {len(wanted)}")
        orders_ok = False
    prices = workflow.settings.prices
    for task, want in zip(tasks, wanted, strict=False):
        reqs = task.get("requirements") or {}
        if task["operation"] != want["operation"]:
            failures.append(
                f"{task['task_id']} is {task['operation']}, expected {want['operation']}"
            )
            orders_ok = False
        if want.get("status") and task["status"] != want["status"]:
            failures.append(f"{task['task_id']} {task['status']}, expected {want['status']}")
            orders_ok = False
        for key, value in (want.get("req") or {}).items():
            got = _lookup(reqs, key)
            if str(got) != str(value):
                failures.append(f"{key}={got!r}, expected {value!r}")
                orders_ok = False
        expected_price = requote(reqs, Operation(task["operation"]), prices).total_fen
        if task["price_fen"] != expected_price:
            failures.append(f"price {task['price_fen']} is not the table's {expected_price}")
            orders_ok = False
        note = want.get("note")
        if note and note not in str(task.get("designer_reason") or ""):
            failures.append(f"the designer was not told {note!r}")
    designer = [t for t in tasks if t["status"] == TaskStatus.WITH_DESIGNER]
    if expect.get("designer") is False and designer:
        failures.append("went to a designer")
    with workflow.db.read() as session:
        row = session.get(Conversation, conv.id)
        needs_human = bool(row.needs_human) if row is not None else False
    if "handoff" in expect and needs_human != expect["handoff"]:
        failures.append("handed to staff" if needs_human else "not handed to staff")
    if any(t.expect.get("decline") for t in conv.turns):
        for task in tasks:
            if task.get("customer_notes"):
                failures.append("a declined request was stored as a note")
    return failures, orders_ok


# --- running -----------------------------------------------------------------------------------
def _finish(workflow: Workflow, clock: Clock, customer: str) -> None:
    """The worker's part: every order in processing gets its result."""
    for task in workflow.get_customer_tasks(customer):
        if task["status"] == TaskStatus.PROCESSING:
            task_id = str(task["task_id"])

            def deliver(session: Session, task_id: str = task_id) -> None:
                service.transition(
                    session,
                    clock,
                    task_id,
                    TaskStatus.AWAITING_CONFIRM,
                    result_image="results/done.png",
                )

            workflow.db.run_write(deliver)


def _pay(workflow: Workflow, customer: str, number: int) -> None:
    for task in workflow.get_customer_tasks(customer):
        if task["status"] == TaskStatus.PENDING:
            workflow.record_payment(
                customer,
                task["task_id"],
                payment_id=f"pay_{customer}_{number}_{task['task_id']}",
                amount_fen=task["price_fen"],
            )


def _current_price(workflow: Workflow, conversation_id: str, customer: str) -> str | None:
    with workflow.db.read() as session:
        row = session.get(Conversation, conversation_id)
        current = row.current_task_id if row is not None else None
    tasks = workflow.get_customer_tasks(customer)
    task = next((t for t in tasks if t["task_id"] == current), tasks[0] if tasks else None)
    if task is None or task.get("price_fen") is None:
        return None
    return yuan_text(task["price_fen"])


async def play(
    conv: CorpusConversation, handler: AgentHandler, pictures: Sequence[Path]
) -> ConversationResult:
    """Run one conversation and check it."""
    workflow = handler.workflow
    customer = f"buyer_{conv.id}"
    result = ConversationResult(conv)
    used = 0
    picture_sent = False
    for number, turn in enumerate(conv.turns):
        if turn.event == "pay":
            await asyncio.to_thread(_pay, workflow, customer, number)
            continue
        if turn.event == "finish":
            await asyncio.to_thread(_finish, workflow, workflow.clock, customer)
            continue
        attached = tuple(
            Attachment(url=str(pictures[(used + i) % len(pictures)])) for i in range(turn.pictures)
        )
        used += turn.pictures
        picture_sent = picture_sent or bool(attached)
        message = InboundMessage(
            platform="xianyu",
            account_id="shop_eval",
            conversation_id=conv.id,
            customer_id=customer,
            customer_nick=None,
            text=turn.say or "",
            attachments=attached,
        )
        replies = await handler.handle(message)
        reply = "\n".join(r.text for r in replies)
        result.replies.append(reply)
        price = await asyncio.to_thread(_current_price, workflow, conv.id, customer)
        for failure in check_reply(turn, reply, picture_sent=picture_sent, price=price):
            result.failures.append(f"turn {number + 1} «{turn.say}»: {failure}")
    failures, orders_ok = await asyncio.to_thread(check_outcome, conv, workflow, customer)
    result.failures.extend(failures)
    result.orders_right = orders_ok
    return result


async def evaluate_async(
    conversations: Iterable[CorpusConversation], settings: Settings, database_url: str | None = None
) -> Report:
    """Play ``conversations`` on a fresh database (a temporary SQLite file by default)."""
    from ai_cs.imaging.ocr import StaticOcr

    with tempfile.TemporaryDirectory(prefix="aics-eval-") as tmp:
        root = Path(tmp)
        url = database_url or f"sqlite:///{root / 'eval.db'}"
        configured = settings.model_copy(update={"data_dir": root / "data", "llm_model": ""})
        workflow = Workflow(database_url=url, settings=configured)
        try:
            handler = AgentHandler(workflow, ocr=StaticOcr(), allow_local_files=True)
            pictures = _pictures(root, 4)
            results = [await play(conv, handler, pictures) for conv in conversations]
        finally:
            workflow.close()
    return Report(results)


def evaluate(
    conversations: Iterable[CorpusConversation], settings: Settings, database_url: str | None = None
) -> Report:
    """:func:`evaluate_async` from synchronous code."""
    return asyncio.run(evaluate_async(list(conversations), settings, database_url))
