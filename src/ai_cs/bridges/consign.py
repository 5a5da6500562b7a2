"""确认发货: a staff member marks a 闲鱼 order shipped (``consign.dummy``) once the buyer confirmed.

A digital order has nothing to post, but the platform keeps it "waiting for shipment" (and the
money held) until the seller marks it shipped. ai-cs never does that by itself: with
``AICS_XIANYU_CONSIGN_DUMMY`` on, the console offers 确认发货 for an order whose task the buyer
confirmed (``completed``) and which a platform order paid; a click records a request here, and
the account's running session calls ``mtop.taobao.idle.logistic.consign.dummy`` and records the
result (:mod:`ai_cs.bridges.xianyu.session`).

One row per order (platform + account + order id): a second click, a double submit or a retry
after a crash never asks twice. A request the platform refused is ``failed`` with its reason and
can be asked again; a done one stays done. Services take a session and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ai_cs.bridges.models import DONE, FAILED, REQUESTED, BridgeConsign
from ai_cs.clock import Clock, iso
from ai_cs.core.tasks import TaskStatus
from ai_cs.db.database import dialect_insert
from ai_cs.errors import Conflict
from ai_cs.tasks.models import ImageTask, Payment
from ai_cs.tasks.service import APPLIED

PLATFORMS: Final = frozenset({"xianyu"})
"""Platforms whose orders can be marked shipped from ai-cs."""
MAX_REASON_CHARS: Final = 300
STATUS_LABELS: Final = {
    None: "待发货",
    REQUESTED: "发货中",
    DONE: "已发货",
    FAILED: "发货失败",
}


class ConsignNotAllowed(Conflict):
    """The task is not a confirmed marketplace order that can be marked shipped."""

    code = "consign_not_allowed"


@dataclass(frozen=True)
class ConsignView:
    """A task's platform order and where its 确认发货 stands (``status`` None: not asked)."""

    task_id: str
    platform: str
    account_id: str
    order_id: str
    status: str | None
    reason: str | None
    requested_by: str | None
    requested_at: str | None
    done_at: str | None

    @property
    def label(self) -> str:
        """The state in the staff's words."""
        return STATUS_LABELS.get(self.status, self.status or "")

    @property
    def can_request(self) -> bool:
        """Whether 确认发货 may be clicked now (never asked, or refused before)."""
        return self.status in (None, FAILED)


@dataclass(frozen=True)
class DueConsign:
    """A request the account's session has to carry out."""

    id: int
    order_id: str
    task_id: str


def _candidates(session: Session, task_id: str | None = None, limit: int = 50) -> list[ConsignView]:
    """Confirmed marketplace tasks with the platform order that paid them, newest first."""
    stmt = (
        select(
            ImageTask.task_id,
            ImageTask.acc_type,
            ImageTask.acc_id,
            Payment.payment_id,
            BridgeConsign,
        )
        .join(Payment, (Payment.task_id == ImageTask.task_id) & (Payment.outcome == APPLIED))
        .outerjoin(
            BridgeConsign,
            (BridgeConsign.platform == ImageTask.acc_type)
            & (BridgeConsign.account_id == ImageTask.acc_id)
            & (BridgeConsign.order_id == Payment.payment_id),
        )
        .where(
            ImageTask.status == TaskStatus.COMPLETED.value,
            ImageTask.acc_type.in_(PLATFORMS),
            ImageTask.acc_id.is_not(None),
        )
        .order_by(ImageTask.completed_at.desc(), ImageTask.task_id.desc())
        .limit(limit)
    )
    if task_id is not None:
        stmt = stmt.where(ImageTask.task_id == task_id)
    views = []
    for tid, platform, account_id, order_id, row in session.execute(stmt):
        views.append(
            ConsignView(
                task_id=str(tid),
                platform=str(platform),
                account_id=str(account_id),
                order_id=str(order_id),
                status=row.status if row else None,
                reason=row.reason if row else None,
                requested_by=row.requested_by if row else None,
                requested_at=row.requested_at if row else None,
                done_at=row.done_at if row else None,
            )
        )
    return views


def consign_of(session: Session, task_id: str) -> ConsignView | None:
    """The 确认发货 a task offers; ``None`` unless a confirmed, platform-paid marketplace order."""
    found = _candidates(session, task_id, limit=1)
    return found[0] if found else None


def waiting_consigns(session: Session, limit: int = 50) -> list[ConsignView]:
    """Confirmed orders not marked shipped yet (never asked, in progress or refused)."""
    return [v for v in _candidates(session, limit=limit) if v.status != DONE]


def request_consign(session: Session, clock: Clock, task_id: str, *, by: str) -> ConsignView:
    """Staff approve 确认发货 for the task's order; asking again while asked or done is a no-op."""
    view = consign_of(session, task_id)
    if view is None:
        raise ConsignNotAllowed(
            f"task {task_id!r} is not a confirmed 闲鱼 order paid on the platform", task_id=task_id
        )
    if not view.can_request:
        return view
    now = iso(clock.now())
    if view.status == FAILED:
        session.execute(
            update(BridgeConsign)
            .where(
                BridgeConsign.platform == view.platform,
                BridgeConsign.account_id == view.account_id,
                BridgeConsign.order_id == view.order_id,
                BridgeConsign.status == FAILED,
            )
            .values(
                status=REQUESTED, reason=None, requested_by=by, requested_at=now, updated_at=now
            )
            .execution_options(synchronize_session=False)
        )
    else:
        session.execute(
            dialect_insert(session, BridgeConsign)
            .values(
                platform=view.platform,
                account_id=view.account_id,
                order_id=view.order_id,
                task_id=view.task_id,
                status=REQUESTED,
                attempts=0,
                requested_by=by,
                requested_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["platform", "account_id", "order_id"])
        )
    found = consign_of(session, task_id)
    assert found is not None  # it was there a moment ago, in this transaction
    return found


def due_consigns(session: Session, platform: str, account_id: str) -> list[DueConsign]:
    """The account's requests waiting to be carried out, oldest first."""
    rows = session.execute(
        select(BridgeConsign.id, BridgeConsign.order_id, BridgeConsign.task_id)
        .where(
            BridgeConsign.platform == platform,
            BridgeConsign.account_id == account_id,
            BridgeConsign.status == REQUESTED,
        )
        .order_by(BridgeConsign.id)
    ).all()
    return [DueConsign(int(i), str(order), str(task)) for i, order, task in rows]


def settle_consign(
    session: Session, clock: Clock, consign_id: int, *, failed: str | None = None
) -> bool:
    """Record the platform's answer (``failed``: its reason); False if no longer requested."""
    now = iso(clock.now())
    result = session.execute(
        update(BridgeConsign)
        .where(BridgeConsign.id == consign_id, BridgeConsign.status == REQUESTED)
        .values(
            status=FAILED if failed else DONE,
            reason=failed[:MAX_REASON_CHARS] if failed else None,
            attempts=BridgeConsign.attempts + 1,
            done_at=None if failed else now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def note_consign_wait(session: Session, clock: Clock, consign_id: int, reason: str) -> None:
    """Say why a request waits (the account needs a person first); it stays requested."""
    session.execute(
        update(BridgeConsign)
        .where(BridgeConsign.id == consign_id, BridgeConsign.status == REQUESTED)
        .values(reason=reason[:MAX_REASON_CHARS], updated_at=iso(clock.now()))
        .execution_options(synchronize_session=False)
    )
