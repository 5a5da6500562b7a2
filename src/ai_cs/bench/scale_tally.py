"""Counting for the scale-out suite: what was lost or doubled, from the database and the simulator.

Pure functions over plain rows, so they are unit-tested without processes or a database.
:func:`tally` compares what the gateway simulator pushed and received with what the database
holds (``gateway_inbox``, ``gateway_outbox``, ``payments``, ``image_tasks``,
``procrastinate_jobs``, ``task_requirement_changes``) and returns a :class:`Ledger` of lost and
doubled counts per kind; every count must be zero.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

FINISHED_STATUSES = frozenset({"awaiting_confirm", "completed", "with_designer", "failed"})
"""Where a paid task may end; one still ``paid`` or ``processing`` at the end lost its job."""
PAYMENT_ACK_MARK = "已收到您的付款"
RESULT_MARK = "下载结果"
KINDS = ("events", "acks", "tasks", "payments", "jobs", "notes", "sends", "replies", "results")


@dataclass
class Observed:
    """Everything the suite saw, as plain rows (one list per source)."""

    pushed_events: list[str] = field(default_factory=list)
    unacked_events: set[str] = field(default_factory=set)
    inbox: list[tuple[str, str]] = field(default_factory=list)  # (event_id, status)
    orders: dict[str, str] = field(default_factory=dict)  # customer id → order id
    notes_sent: dict[str, str] = field(default_factory=dict)  # customer id → note text
    tasks: list[tuple[str, str, str]] = field(default_factory=list)  # (task, customer, status)
    payments: list[tuple[str, str | None, str]] = field(default_factory=list)  # (id, task, outcome)
    jobs: list[tuple[str, str]] = field(default_factory=list)  # (task id, procrastinate status)
    notes: list[tuple[str, str, str]] = field(default_factory=list)  # (task, change_type, value)
    outbox: list[tuple[str, str]] = field(default_factory=list)  # (command_id, status)
    delivered: list[tuple[str, str, str]] = field(default_factory=list)  # (command_id, to, text)
    replies_missing: int = 0
    results_unreachable: int = 0


@dataclass
class Ledger:
    """Lost and doubled counts per kind (events, tasks, payments, jobs, sends …)."""

    lost: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    doubled: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    details: list[str] = field(default_factory=list)

    def add(self, which: str, kind: str, n: int, detail: str) -> None:
        """Count ``n`` lost or doubled ``kind`` items and keep a line saying which."""
        if n <= 0:
            return
        target = self.lost if which == "lost" else self.doubled
        target[kind] = target.get(kind, 0) + n
        if len(self.details) < 50:  # enough to debug; the counts carry the rest
            self.details.append(f"{which} {kind}: {detail}")

    @property
    def total_lost(self) -> int:
        """Sum of every lost count."""
        return sum(self.lost.values())

    @property
    def total_doubled(self) -> int:
        """Sum of every doubled count."""
        return sum(self.doubled.values())

    @property
    def clean(self) -> bool:
        """True when nothing was lost and nothing doubled."""
        return self.total_lost == 0 and self.total_doubled == 0


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..1); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return float(ordered[min(rank, len(ordered)) - 1])


def _extra(counter: Counter[str]) -> Iterable[tuple[str, int]]:
    return ((key, n - 1) for key, n in counter.items() if n > 1)


def tally(seen: Observed) -> Ledger:
    """Compare what was sent with what the database holds; see the module docstring."""
    ledger = Ledger()

    # Events: every pushed event stored once and processed; every one acked.
    inbox_count = Counter(event_id for event_id, _ in seen.inbox)
    inbox_status = dict(seen.inbox)
    for event_id in dict.fromkeys(seen.pushed_events):
        if event_id not in inbox_count:
            ledger.add("lost", "events", 1, f"{event_id} never stored")
        elif inbox_status[event_id] != "processed":
            ledger.add("lost", "events", 1, f"{event_id} is {inbox_status[event_id]}")
    for event_id, extra in _extra(inbox_count):
        ledger.add("doubled", "events", extra, f"{event_id} stored {extra + 1}×")
    for event_id in sorted(seen.unacked_events):
        ledger.add("lost", "acks", 1, f"{event_id} never acked")

    # Tasks: one per customer.
    per_customer = Counter(customer for _, customer, _ in seen.tasks)
    for customer in seen.orders:
        n = per_customer.get(customer, 0)
        if n == 0:
            ledger.add("lost", "tasks", 1, f"no task for {customer}")
        elif n > 1:
            ledger.add("doubled", "tasks", n - 1, f"{n} tasks for {customer}")
    task_of = {customer: task for task, customer, _ in seen.tasks}
    status_of = {task: status for task, _, status in seen.tasks}

    # Payments: one row per order id, applied to the customer's task, one per task.
    payment_rows = {pid: (task, outcome) for pid, task, outcome in seen.payments}
    for customer, order in seen.orders.items():
        if order not in payment_rows:
            ledger.add("lost", "payments", 1, f"payment {order} of {customer} not recorded")
        elif payment_rows[order][0] is None or payment_rows[order][0] != task_of.get(customer):
            ledger.add("lost", "payments", 1, f"payment {order} not applied to {customer}'s task")
    applied_per_task: Counter[str] = Counter(
        task for _, task, outcome in seen.payments if task is not None and outcome
    )
    for task, extra in _extra(applied_per_task):
        ledger.add("doubled", "payments", extra, f"{task} has {extra + 1} payments")

    # Jobs: one Procrastinate job per paid task, and the task left processing.
    jobs_per_task = Counter(task for task, _ in seen.jobs)
    paid_tasks = {task for _, task, _ in seen.payments if task is not None}
    for task in sorted(paid_tasks):
        if jobs_per_task.get(task, 0) == 0:
            ledger.add("lost", "jobs", 1, f"no job for paid task {task}")
        elif status_of.get(task) not in FINISHED_STATUSES:
            ledger.add("lost", "jobs", 1, f"{task} still {status_of.get(task)}")
    for task, extra in _extra(jobs_per_task):
        ledger.add("doubled", "jobs", extra, f"{task} has {extra + 1} jobs")

    # Requirement changes: the note each customer added, once.
    for customer, note in seen.notes_sent.items():
        noted = task_of.get(customer)
        if noted is None:
            continue  # already counted as a lost task
        n = sum(1 for t, _kind, value in seen.notes if t == noted and note in (value or ""))
        if n == 0:
            ledger.add("lost", "notes", 1, f"note of {customer} missing on {noted}")
        elif n > 1:
            ledger.add("doubled", "notes", n - 1, f"note of {customer} stored {n}× on {noted}")

    # Sends: every outbox command answered and received; no reply said twice.
    delivered_ids = {command for command, _, _ in seen.delivered}
    for command, status in seen.outbox:
        if status != "sent":
            ledger.add("lost", "sends", 1, f"{command} still {status}")
        elif command not in delivered_ids:
            ledger.add("lost", "sends", 1, f"{command} marked sent but never received")
    for command, extra in _extra(Counter(command for command, _ in seen.outbox)):
        ledger.add("doubled", "sends", extra, f"{command} queued {extra + 1}×")
    for mark in (PAYMENT_ACK_MARK, RESULT_MARK):
        per_to = Counter(to for _, to, text in seen.delivered if mark in text)
        for to, extra in _extra(per_to):
            ledger.add("doubled", "sends", extra, f"{to} got {mark!r} {extra + 1}×")

    ledger.add("lost", "replies", seen.replies_missing, f"{seen.replies_missing} steps timed out")
    ledger.add(
        "lost", "results", seen.results_unreachable, f"{seen.results_unreachable} links failed"
    )
    return ledger
