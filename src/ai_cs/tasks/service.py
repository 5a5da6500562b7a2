"""Task services: every rule of the seed document applied to the database.

Functions take a session and never commit. Each status change is a compare-and-set UPDATE
(``... WHERE status IN (:allowed) RETURNING ...``): the rule checked in Python is checked again by
the statement that applies it, so two racing callers can never both win. Rows that are read,
checked and then changed are locked first (``FOR UPDATE`` on PostgreSQL; SQLite write
transactions are already exclusive through ``BEGIN IMMEDIATE``). Who may make a change (a
customer only to their own orders, staff only to their shops') is the shop's verbs' rule
(:mod:`ai_cs.tasks.orders`), the only callers of the changing functions here.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import (
    ClauseElement,
    ColumnElement,
    Table,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from ai_cs.clock import Clock, iso, note_stamp
from ai_cs.core import wording
from ai_cs.core.pricing import PriceTable
from ai_cs.core.quoting import quote_json, requote
from ai_cs.core.requirements import merge_output, output_from_detail
from ai_cs.core.tasks import (
    STAMPS,
    Actor,
    ChangeType,
    Operation,
    TaskStatus,
    append_note,
    check_can_add_requirement,
    check_can_modify_operation,
    check_id,
    check_text,
    check_transition,
    clean_requirement,
    format_note_line,
    format_task_id,
    parse_operation,
    parse_status,
    sources_of,
)
from ai_cs.db.prepared import is_pg, prepared, run
from ai_cs.errors import (
    ConcurrentUpdate,
    Conflict,
    InvalidArgument,
    NoPendingTask,
    NotTaskOwner,
    PaymentConflict,
    TaskNotFound,
)
from ai_cs.jobs.queue import PROCESS_TASK, JobQueue, JobSpec
from ai_cs.notify import NotifyKind, emit
from ai_cs.tasks.models import ImageTask, Payment, TaskRequirementChange
from ai_cs.tasks.schemas import Order, change_to_dict, encode_json, task_to_dict

TASK_ID_PATTERN = re.compile(r"TASK_[0-9A-Za-z_]{1,40}")
NONE_MARK = "无"  # the seed's old_value when there was nothing before

# Payment outcomes recorded in ``payments.outcome``: the receipts' words (core.wording) and the
# records share one spelling.
APPLIED: Final = wording.PAYMENT_APPLIED
NOT_PENDING: Final = wording.PAYMENT_NOT_PENDING
AMOUNT_MISMATCH: Final = wording.PAYMENT_AMOUNT_MISMATCH
UNMATCHED: Final = "unmatched"


@dataclass(frozen=True)
class Paid:
    """What a payment event did.

    ``outcome`` is applied, ignored_not_pending, amount_mismatch or unmatched; ``duplicate``
    when the payment id was seen before.
    """

    order: Order | None
    outcome: str
    duplicate: bool


# Core tables: the hot paths use Core statements with RETURNING instead of ORM identity
# maps and refreshes (measured by `aics bench --only workflow`).
TASKS: Table = ImageTask.__table__  # type: ignore[assignment]
CHANGES: Table = TaskRequirementChange.__table__  # type: ignore[assignment]
PAYMENTS: Table = Payment.__table__  # type: ignore[assignment]


_is_pg = is_pg


# Prebuilt statements (see ai_cs.db.prepared): the hot paths execute these with parameters
# instead of building a statement per call. Where-clause parameters are named ``w_*`` so they
# never collide with the SET parameters, which carry the column names.
@prepared
def _select_task(lock: bool) -> Any:
    stmt = select(TASKS).where(TASKS.c.task_id == bindparam("w_task_id"))
    return stmt.with_for_update() if lock else stmt


SELECT_STATUS = select(TASKS.c.status).where(TASKS.c.task_id == bindparam("w_task_id"))
SELECT_TASK_ID = select(TASKS.c.task_id).where(TASKS.c.task_id == bindparam("w_task_id"))
INSERT_TASK = insert(TASKS)
INSERT_CHANGE = insert(CHANGES)
INSERT_PAYMENT = insert(PAYMENTS)


def _in_shop() -> list[ColumnElement[bool]]:
    """Tasks of the shop named by ``w_platform`` / ``w_account_id`` (a marketplace payment)."""
    return [
        func.coalesce(TASKS.c.acc_type, "") == bindparam("w_platform"),
        func.coalesce(TASKS.c.acc_id, "") == bindparam("w_account_id"),
    ]


@prepared
def _select_payment(scoped: bool) -> Any:
    """A payment by id in its shop; ``scoped`` also finds a hand-recorded one of a shop task."""
    in_shop = (PAYMENTS.c.platform == bindparam("w_platform")) & (
        PAYMENTS.c.account_id == bindparam("w_account_id")
    )
    if scoped:
        hand_recorded = (
            (PAYMENTS.c.platform == "")
            & (PAYMENTS.c.account_id == "")
            & PAYMENTS.c.task_id.in_(select(TASKS.c.task_id).where(*_in_shop()))
        )
        in_shop = in_shop | hand_recorded
    return (
        select(PAYMENTS)
        .where(PAYMENTS.c.payment_id == bindparam("w_payment_id"), in_shop)
        .order_by(PAYMENTS.c.platform.desc())
        .limit(1)
    )


@prepared
def _select_payable(scoped: bool) -> Any:
    """The customer's pending tasks, newest first; ``scoped``: only the named shop's."""
    where = [
        TASKS.c.customer_id == bindparam("w_customer_id"),
        TASKS.c.status == TaskStatus.PENDING.value,
    ]
    if scoped:
        where.extend(_in_shop())
    return select(TASKS).where(*where).order_by(TASKS.c.created_at.desc(), TASKS.c.task_id.desc())


NEXT_TASK_SEQ = text(
    "INSERT INTO task_id_sequences (day, last) VALUES (:day, 1) "
    "ON CONFLICT (day) DO UPDATE SET last = task_id_sequences.last + 1 "
    "RETURNING last"
)


@prepared
def _update_task(
    columns: tuple[str, ...], statuses: tuple[str, ...] | None = None, notes: str | None = None
) -> Any:
    """``UPDATE image_tasks SET <columns> WHERE task_id = :w_task_id [AND status IN statuses]``.

    ``statuses`` are fixed in the statement (each its own bound value, not an expanding IN,
    whose rendering costs every call). ``notes`` adds the notes compare-and-set: ``"null"``
    (still empty) or ``"eq"`` (still ``:w_notes``). The row is returned.
    """
    where: list[ColumnElement[bool]] = [TASKS.c.task_id == bindparam("w_task_id")]
    if statuses is not None:
        if len(statuses) == 1:
            where.append(TASKS.c.status == statuses[0])
        else:
            where.append(
                TASKS.c.status.in_([bindparam(f"w_s{i}", s) for i, s in enumerate(statuses)])
            )
    if notes == "null":
        where.append(TASKS.c.customer_notes.is_(None))
    elif notes == "eq":
        where.append(TASKS.c.customer_notes == bindparam("w_notes"))
    return (
        update(TASKS)
        .where(*where)
        .values({name: bindparam(name) for name in columns})
        .returning(*TASKS.c)
    )


def _cas(
    session: Session,
    task_id: str,
    values: Mapping[str, Any],
    statuses: Iterable[str] | None = None,
    *,
    notes: str | None = None,
    old_notes: str | None = None,
) -> Any:
    """Run :func:`_update_task` for ``values``; the updated row or ``None`` (no match).

    A value that is an SQL expression (``retry_count + 1``) is written into the statement,
    which is then built for this call only.
    """
    fixed = tuple(sorted(statuses)) if statuses is not None else None
    params = {k: v for k, v in values.items() if not isinstance(v, ClauseElement)}
    stmt = _update_task(tuple(params), fixed, notes)
    if len(params) != len(values):
        stmt = stmt.values({k: v for k, v in values.items() if k not in params})
    params["w_task_id"] = task_id
    if notes == "eq":
        params["w_notes"] = old_notes
    return run(session, stmt, params).one_or_none()


def _cas_pending(
    session: Session, task_id: str, values: Mapping[str, Any], **notes: str | None
) -> Any:
    """:func:`_cas` on a task still ``pending``; :class:`ConcurrentUpdate` when it moved on."""
    applied = _cas(session, task_id, values, [TaskStatus.PENDING.value], **notes)
    if applied is None:
        raise ConcurrentUpdate(f"task {task_id!r} changed meanwhile; try again", task_id=task_id)
    return applied


def _load(session: Session, task_id: str, *, lock: bool = False) -> Any:
    """The task's row (attribute access by column name), locked on PostgreSQL if asked."""
    row = run(session, _select_task(lock and is_pg(session)), {"w_task_id": task_id}).one_or_none()
    if row is None:
        raise TaskNotFound(f"task {task_id!r} not found", task_id=task_id)
    return row


def _check_owner(row: Any, customer_id: str | None) -> None:
    if customer_id is not None and row.customer_id != customer_id:
        # Same message as a missing task would give a different customer nothing to learn.
        raise NotTaskOwner(
            f"task {row.task_id!r} does not belong to customer {customer_id!r}",
            task_id=row.task_id,
        )


def _record_change(
    session: Session,
    clock: Clock,
    task_id: str,
    change_type: ChangeType,
    old_value: str | None,
    new_value: str,
    actor: Actor,
) -> None:
    run(
        session,
        INSERT_CHANGE,
        {
            "task_id": task_id,
            "change_type": change_type.value,
            "old_value": old_value if old_value not in (None, "") else NONE_MARK,
            "new_value": new_value,
            "changed_at": iso(clock.now()),
            "changed_by": actor.value,
        },
    )


def next_task_id(session: Session, clock: Clock) -> str:
    """Allocate ``TASK_YYYYMMDD_NNN`` from the per-day counter (atomic upsert)."""
    day = clock.now().strftime("%Y%m%d")
    seq = run(session, NEXT_TASK_SEQ, {"day": day}).scalar_one()
    return format_task_id(day, int(seq))


def _optional_text(name: str, value: object, limit: int = 2000) -> str | None:
    return check_text(name, value, limit)


def create_task(
    session: Session,
    clock: Clock,
    *,
    customer_id: object,
    original_image: object,
    operation: object,
    customer_name: object = None,
    requirements: Mapping[str, Any] | None = None,
    customer_notes: object = None,
    acc_id: object = None,
    acc_type: object = None,
    price_fen: int | None = None,
    quote: Mapping[str, Any] | None = None,
    risk: Mapping[str, Any] | None = None,
    conversation_id: object = None,
    task_id: object = None,
) -> dict[str, Any]:
    """Create a task in ``pending`` (待付款) and return it.

    ``task_id`` is normally allocated (``TASK_YYYYMMDD_NNN``); an explicit one (imports, the
    seed's ``TASK_001`` examples) must match :data:`TASK_ID_PATTERN` and be unused.
    """
    customer = check_id("customer_id", customer_id)
    image = _optional_text("original_image", original_image, 4096)
    if not image:
        raise InvalidArgument("original_image must be a non-empty string")
    op = parse_operation(operation)
    notes = _optional_text("customer_notes", customer_notes)
    if price_fen is not None and (not isinstance(price_fen, int) or price_fen < 0):
        raise InvalidArgument(f"price_fen must be a non-negative integer, got {price_fen!r}")
    if requirements is not None and not isinstance(requirements, Mapping):
        raise InvalidArgument("requirements must be a mapping")
    now = iso(clock.now())
    if task_id is None:
        new_id = next_task_id(session, clock)
    else:
        new_id = check_id("task_id", task_id)
        if not TASK_ID_PATTERN.fullmatch(new_id):
            raise InvalidArgument(f"task_id {new_id!r} must look like TASK_20260227_001")
        if run(session, SELECT_TASK_ID, {"w_task_id": new_id}).first():
            raise Conflict(f"task {new_id!r} already exists", task_id=new_id)
    values: dict[str, Any] = dict(  # noqa: C408 - column=value reads best here
        task_id=new_id,
        customer_id=customer,
        customer_name=_optional_text("customer_name", customer_name, 200),
        original_image=image,
        operation=op.value,
        requirements=encode_json(dict(requirements or {})),
        customer_notes=notes,
        status=TaskStatus.PENDING.value,
        created_at=now,
        retry_count=0,
        acc_id=_optional_text("acc_id", acc_id, 200),
        acc_type=_optional_text("acc_type", acc_type, 64),
        price_fen=price_fen,
        quote=encode_json(dict(quote)) if quote is not None else None,
        risk=encode_json(dict(risk)) if risk is not None else None,
        conversation_id=_optional_text("conversation_id", conversation_id, 200),
        updated_at=now,
    )
    run(session, INSERT_TASK, values)
    return task_to_dict(values)


def get_task(
    session: Session, task_id: object, *, customer_id: str | None = None
) -> dict[str, Any]:
    """One task as the seed's dict; with ``customer_id`` only the customer's own."""
    row = _load(session, check_id("task_id", task_id))
    _check_owner(row, customer_id)
    return task_to_dict(row)


def list_tasks(
    session: Session,
    *,
    customer_id: str | None = None,
    status: str | None = None,
    acc_ids: Iterable[str] | None = None,
    shop: tuple[str, str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Tasks newest first with optional filters; returns ``(page, total)``.

    ``shop`` is ``(platform, account_id)``: a marketplace buyer's orders are those in that shop.
    """
    stmt = select(ImageTask)
    if customer_id is not None:
        stmt = stmt.where(TASKS.c.customer_id == check_id("customer_id", customer_id))
    if shop is not None:
        stmt = stmt.where(
            func.coalesce(TASKS.c.acc_type, "") == shop[0],
            func.coalesce(TASKS.c.acc_id, "") == shop[1],
        )
    if status is not None:
        stmt = stmt.where(TASKS.c.status == parse_status(status).value)
    if acc_ids is not None:
        stmt = stmt.where(TASKS.c.acc_id.in_(list(acc_ids)))
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(
        stmt.order_by(TASKS.c.created_at.desc(), TASKS.c.task_id.desc())
        .limit(max(1, min(limit, 1000)))
        .offset(max(0, offset))
    ).scalars()
    return [task_to_dict(r) for r in rows], int(total)


def get_history(session: Session, task_id: object) -> list[dict[str, Any]]:
    """The task's requirement changes, newest first."""
    tid = check_id("task_id", task_id)
    _load(session, tid)
    rows = session.execute(
        select(TaskRequirementChange)
        .where(TaskRequirementChange.task_id == tid)
        .order_by(TaskRequirementChange.changed_at.desc(), TaskRequirementChange.id.desc())
    ).scalars()
    return [change_to_dict(r) for r in rows]


def add_requirement(
    session: Session,
    clock: Clock,
    *,
    task_id: object,
    requirement: object,
    actor: Actor = Actor.CUSTOMER,
) -> dict[str, Any]:
    """Append a note line ``[MM-DD HH:MM] text`` to ``customer_notes`` (only before payment)."""
    tid = check_id("task_id", task_id)
    note = clean_requirement(requirement)
    row = _load(session, tid, lock=True)
    check_can_add_requirement(tid, TaskStatus(str(row.status)))
    moment = clock.now()
    old_notes = row.customer_notes
    new_notes = append_note(old_notes, format_note_line(note_stamp(moment), note))
    applied = _cas_pending(
        session,
        tid,
        {"customer_notes": new_notes, "updated_at": iso(moment)},
        notes="null" if old_notes is None else "eq",
        old_notes=old_notes,
    )
    _record_change(session, clock, tid, ChangeType.ADD_NOTE, old_notes, note, actor)
    return task_to_dict(applied)


def add_requirement_detail(
    session: Session,
    clock: Clock,
    *,
    task_id: object,
    key: object,
    value: object,
    actor: Actor = Actor.CUSTOMER,
) -> dict[str, Any]:
    """Set one structured requirement (size, colour, deadline …) in ``requirements`` JSON."""
    tid = check_id("task_id", task_id)
    name = check_id("key", key)
    new_value = clean_requirement(value)
    row = _load(session, tid, lock=True)
    check_can_add_requirement(tid, TaskStatus(str(row.status)))
    reqs = json.loads(row.requirements) if row.requirements else {}
    old = reqs.get(name)
    reqs[name] = new_value
    # What the engines apply (requirements.output): a size, print size, colour … the buyer gave.
    output = output_from_detail(name, new_value)
    if output:
        reqs["output"] = merge_output(reqs.get("output"), output)
    applied = _cas_pending(
        session, tid, {"requirements": encode_json(reqs), "updated_at": iso(clock.now())}
    )
    old_text = None if old is None else f"{name}={old}"
    _record_change(
        session, clock, tid, ChangeType.ADD_REQUIREMENT, old_text, f"{name}={new_value}", actor
    )
    return task_to_dict(applied)


def modify_operation(
    session: Session,
    clock: Clock,
    *,
    task_id: object,
    new_operation: object,
    actor: Actor = Actor.CUSTOMER,
    new_price_fen: int | None = None,
    new_quote: Mapping[str, Any] | None = None,
    price_table: PriceTable | None = None,
) -> dict[str, Any]:
    """Change the operation (only before payment); a quoted task is re-quoted for it."""
    tid = check_id("task_id", task_id)
    op = parse_operation(new_operation)
    row = _load(session, tid, lock=True)
    check_can_modify_operation(tid, TaskStatus(str(row.status)))
    old_op = row.operation
    if old_op == op.value:
        return task_to_dict(row)
    values: dict[str, Any] = {"operation": op.value, "updated_at": iso(clock.now())}
    if new_price_fen is None and row.price_fen is not None:
        # A quoted task keeps a quote that matches its operation (the quote follows the change).
        requirements = json.loads(row.requirements) if row.requirements else {}
        price = requote(requirements, op, price_table)
        new_price_fen, new_quote = price.total_fen, quote_json(price)
    if new_price_fen is not None:
        values["price_fen"] = new_price_fen
    if new_quote is not None:
        values["quote"] = encode_json(dict(new_quote))
    try:
        applied = _cas_pending(session, tid, values)
    except ConcurrentUpdate:
        # Paid meanwhile: say so rather than "try again".
        check_can_modify_operation(tid, TaskStatus(_status_now(session, tid)))
        raise
    _record_change(session, clock, tid, ChangeType.MODIFY_OPERATION, old_op, op.value, actor)
    return task_to_dict(applied)


def _status_now(session: Session, task_id: str) -> str:
    return str(run(session, SELECT_STATUS, {"w_task_id": task_id}).scalar_one())


def transition(
    session: Session,
    clock: Clock,
    task_id: str,
    target: TaskStatus,
    *,
    expected: Iterable[TaskStatus] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Move a task to ``target`` with a compare-and-set UPDATE.

    ``expected`` narrows the allowed previous statuses (default: every status the transition
    table allows into ``target``). Raises :class:`InvalidTransition` when the task is elsewhere.
    """
    allowed = set(sources_of(target))
    if expected is not None:
        allowed &= set(expected)
    now = clock.now()
    values: dict[str, Any] = {"status": target.value, "updated_at": iso(now)}
    # The transition stamps its own time (paid_at, started_at, completed_at), so no path that
    # makes it — customer, staff, gateway, worker — can forget the stamp.
    if target in STAMPS:
        values[STAMPS[target]] = iso(now)
    values.update(fields)
    done = _cas(session, task_id, values, [s.value for s in allowed])
    if done is None:
        current = TaskStatus(_status_now_or_missing(session, task_id))
        check_transition(task_id, current, target)
        # Allowed by the table but not from where the caller expected it to be.
        raise ConcurrentUpdate(
            f"task {task_id!r} is {current.value!r}, not one of {sorted(s.value for s in allowed)}",
            task_id=task_id,
        )
    return task_to_dict(done)


def _status_now_or_missing(session: Session, task_id: str) -> str:
    status = run(session, SELECT_STATUS, {"w_task_id": task_id}).scalar_one_or_none()
    if status is None:
        raise TaskNotFound(f"task {task_id!r} not found", task_id=task_id)
    return str(status)


def _find_payable(
    session: Session, customer_id: str, amount_fen: int | None, shop: tuple[str, str]
) -> Any:
    """The pending task a payment pays: the newest, or the newest quoted ``amount_fen``.

    ``shop`` is ``(platform, account_id)``; ``("", "")`` looks in every shop.
    """
    platform, account_id = shop
    scoped = bool(platform or account_id)
    params = {"w_customer_id": customer_id, "w_platform": platform, "w_account_id": account_id}
    candidates = list(run(session, _select_payable(scoped), params))
    if not candidates:
        return None
    if amount_fen is not None:
        for row in candidates:
            if row.price_fen == amount_fen:
                return row
    return candidates[0]


def existing_payment(
    session: Session, payment_id: str, *, platform: str = "", account_id: str = ""
) -> Any:
    """The stored payment with this id in this shop ('' and '': payments from no marketplace).

    A platform's order id means something only inside its shop account: another shop's
    payment with the same id is a different payment, never this one. A payment recorded by
    hand (no shop) under the platform's order id is this shop's when it paid one of its tasks.
    """
    scoped = bool(platform or account_id)
    params = {"w_payment_id": payment_id, "w_platform": platform, "w_account_id": account_id}
    return run(session, _select_payment(scoped), params).one_or_none()


def has_payable_task(
    session: Session, customer_id: str, *, platform: str = "", account_id: str = ""
) -> bool:
    """Whether the customer has a task waiting for payment (in that shop, when one is named)."""
    found = _find_payable(session, customer_id, None, (platform, account_id))
    return found is not None


def apply_payment(
    session: Session,
    clock: Clock,
    queue: JobQueue,
    *,
    customer_id: object,
    task_id: object | None = None,
    payment_id: object | None = None,
    amount_fen: object | None = None,
    platform: str = "",
    account_id: str = "",
) -> Paid:
    """Apply a payment once per payment id: ``pending → paid → processing`` and enqueue the job.

    Without ``task_id`` the customer's newest pending task is paid (the one whose quote equals
    ``amount_fen`` when several wait). A payment for a task that is not pending, or whose amount
    does not match the quote, changes no task and is recorded with its outcome. A payment from a
    marketplace names its ``platform`` and shop ``account_id``: it is one payment per id in that
    shop and pays only that shop's tasks.
    """
    customer = check_id("customer_id", customer_id)
    platform = str(platform or "")
    account_id = str(account_id or "")
    tid = check_id("task_id", task_id) if task_id is not None else None
    pid = check_id("payment_id", payment_id) if payment_id is not None else f"manual-{uuid.uuid4()}"
    if amount_fen is not None and (
        isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen < 0
    ):
        raise InvalidArgument(f"amount_fen must be a non-negative integer, got {amount_fen!r}")

    seen = existing_payment(session, pid, platform=platform, account_id=account_id)
    if seen is not None:
        if seen.customer_id != customer or (tid is not None and seen.task_id not in (None, tid)):
            raise PaymentConflict(
                f"payment {pid!r} was already recorded for another task or customer",
                payment_id=pid,
            )
        order = Order.of(_load(session, seen.task_id)) if seen.task_id else None
        return Paid(order, seen.outcome, duplicate=True)

    if tid is not None:
        row: Any = _load(session, tid, lock=True)
        assert row is not None
        _check_owner(row, customer)
        if (platform or account_id) and (row.acc_type or "", row.acc_id or "") != (
            platform,
            account_id,
        ):
            # Same answer as another customer's task: another shop's task is not this one's.
            raise NotTaskOwner(
                f"task {row.task_id!r} does not belong to this shop", task_id=row.task_id
            )
    else:
        row = _find_payable(session, customer, amount_fen, (platform, account_id))
        if row is not None and _is_pg(session):
            row = _load(session, row.task_id, lock=True)

    def record(outcome: str, detail: str | None = None) -> None:
        # INSERT first-wins: a concurrent copy of the same payment id fails on the primary key
        # and the caller re-reads the stored outcome.
        run(
            session,
            INSERT_PAYMENT,
            {
                "platform": platform,
                "account_id": account_id,
                "payment_id": pid,
                "task_id": row.task_id if row is not None else None,
                "customer_id": customer,
                "amount_fen": amount_fen,
                "outcome": outcome,
                "detail": detail,
                "received_at": iso(clock.now()),
            },
        )

    if row is None:
        record(UNMATCHED, "no pending task for this customer")
        return Paid(None, UNMATCHED, duplicate=False)
    if row.status != TaskStatus.PENDING.value:
        record(NOT_PENDING, f"task was {row.status}")
        return Paid(Order.of(row), NOT_PENDING, duplicate=False)
    if amount_fen is not None and row.price_fen is not None and amount_fen != row.price_fen:
        record(AMOUNT_MISMATCH, f"paid {amount_fen} fen, quoted {row.price_fen} fen")
        return Paid(Order.of(row), AMOUNT_MISMATCH, duplicate=False)

    record(APPLIED)
    transition(session, clock, row.task_id, TaskStatus.PAID, expected=[TaskStatus.PENDING])
    task = transition(
        session, clock, row.task_id, TaskStatus.PROCESSING, expected=[TaskStatus.PAID]
    )
    queue.enqueue(
        session, JobSpec(kind=PROCESS_TASK, task_id=row.task_id, payload={"payment_id": pid})
    )
    # Sent only when the shop switched paid-order notices on (the relay decides).
    shop = f"{platform}:{account_id}:" if platform or account_id else ""
    emit(session, clock, NotifyKind.PAID, key=f"paid:{shop}{pid}", task_id=row.task_id)
    return Paid(Order.of(task), APPLIED, duplicate=False)


def raise_no_pending(customer_id: str) -> None:
    """The error for a payment that matched no pending task."""
    raise NoPendingTask(
        f"customer {customer_id!r} has no task waiting for payment", customer_id=customer_id
    )


def set_fields(session: Session, clock: Clock, task_id: str, **fields: Any) -> None:
    """Update non-status columns of a task (analysis results, quote, result image …)."""
    for key in ("quote", "risk", "requirements"):
        if key in fields and not isinstance(fields[key], str | type(None)):
            fields[key] = encode_json(fields[key])
    fields["updated_at"] = iso(clock.now())
    _cas(session, task_id, fields)


__all__ = [
    "APPLIED",
    "AMOUNT_MISMATCH",
    "NOT_PENDING",
    "UNMATCHED",
    "Operation",
    "Paid",
    "add_requirement",
    "add_requirement_detail",
    "apply_payment",
    "has_payable_task",
    "create_task",
    "get_history",
    "get_task",
    "list_tasks",
    "modify_operation",
    "next_task_id",
    "set_fields",
    "transition",
]
