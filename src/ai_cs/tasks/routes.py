"""``/api/v1/tasks``: staff and partner systems see tasks and act on them (天网协作).

Reads and the workflow's own staff actions (add a requirement, change the operation, confirm,
hand to a designer) are open to ``staff`` and ``partner`` keys; a partner key sees and acts only
on its own shop accounts' tasks, and any other task is a 404 as if it did not exist. Retry,
cancel and refund are staff decisions (``staff`` scope). Each request is one transaction,
committed here at the edge; the rules live in :mod:`ai_cs.tasks.staff` and the services below it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from fastapi.types import DecoratedCallable
from sqlalchemy.orm import Session

from ai_cs.auth.service import Principal
from ai_cs.config import Settings
from ai_cs.db.database import Database
from ai_cs.tasks import orders, service, staff
from ai_cs.tasks.schemas import (
    ActionNote,
    ChangeList,
    HandToDesigner,
    OperationChange,
    RequirementCreate,
    TaskDetail,
    TaskList,
    TaskRead,
    as_detail,
)
from ai_cs.web.deps import (
    ClockDep,
    DbDep,
    QueueDep,
    ReaderKey,
    SettingsDep,
    StaffKey,
    actor_name,
)
from ai_cs.web.errors import error_responses
from ai_cs.web.files import media_type_of, picture_references, stored_picture_response

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])


ERRORS = error_responses(401, 403, 404, 409, 422, 429)

TaskId = Annotated[str, PathParam(max_length=128, description="e.g. TASK_20260227_001")]
Limit = Annotated[int, Query(ge=1, le=500, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Rows to skip.")]
Text = Annotated[str | None, Query(max_length=128)]


def task_detail(session: Session, task: dict[str, Any]) -> TaskDetail:
    """A visible task with its result files, dispatch requests and staff actions."""
    tid = task["task_id"]
    results = []
    if task.get("result_image"):
        results.append(
            {
                "kind": "result",
                "url": f"/api/v1/tasks/{tid}/result",
                "media_type": media_type_of(PurePosixPath(str(task["result_image"]))),
            }
        )
    return as_detail(
        task,
        original_url=f"/api/v1/tasks/{tid}/original" if task.get("original_image") else None,
        results=results,
        dispatch=staff.dispatch_requests(session, tid),
        staff_actions=staff.staff_actions(session, tid),
        allowed_actions=staff.allowed_actions(task.get("status")),
    )


@router.get("", response_model=TaskList, responses=ERRORS, summary="List tasks")
def list_tasks(
    db: DbDep,
    principal: ReaderKey,
    status: Text = None,
    customer_id: Text = None,
    acc_id: Text = None,
    q: Annotated[str | None, Query(max_length=100, description="Search text.")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Tasks newest first; ``count`` is the total matching the filters (not the page size)."""
    with db.read() as session:
        data, count = staff.find_tasks(
            session,
            status=status,
            customer_id=customer_id,
            acc_id=acc_id,
            query=q,
            acc_ids=principal.acc_ids,
            limit=limit,
            offset=offset,
        )
    return {"data": data, "count": count}


def _task_detail(db: Database, task_id: str, acc_ids: tuple[str, ...] | None) -> TaskDetail:
    with db.read() as session:
        task = staff.visible_task(session, task_id, acc_ids)
        return task_detail(session, task)


@router.get("/{task_id}", response_model=TaskDetail, responses=ERRORS, summary="One task")
async def get_task(task_id: TaskId, db: DbDep, principal: ReaderKey) -> TaskDetail:
    """The task with analysis (``requirements``), quote, risk, results and dispatch state.

    On SQLite the read is a local file read in WAL mode (readers never wait for writers), so
    it runs on the event loop and saves the thread hop of a sync route; on PostgreSQL it is a
    network round trip and goes to the thread pool, so a slow server never blocks the loop.
    """
    if db.is_sqlite:
        return _task_detail(db, task_id, principal.acc_ids)
    return await run_in_threadpool(_task_detail, db, task_id, principal.acc_ids)


@router.get(
    "/{task_id}/history", response_model=ChangeList, responses=ERRORS, summary="Task history"
)
def get_history(task_id: TaskId, db: DbDep, principal: ReaderKey) -> dict[str, Any]:
    """The task's requirement changes (需求变更), newest first."""
    with db.read() as session:
        tid = staff.visible_task(session, task_id, principal.acc_ids)["task_id"]
        rows = service.get_history(session, tid)
    return {"data": rows, "count": len(rows)}


def _picture(
    db: Database, settings: Settings, principal: Principal, task_id: str, what: str
) -> Response:
    """The task's ``original`` or ``result`` picture, if the caller may see the task."""
    with db.read() as session:
        task = staff.visible_task(session, task_id, principal.acc_ids)
    return stored_picture_response(
        settings.data_dir, *picture_references(task, what), what=what, task_id=task["task_id"]
    )


@router.get("/{task_id}/original", responses=ERRORS, summary="The customer's picture")
def get_original(
    task_id: TaskId, db: DbDep, settings: SettingsDep, principal: ReaderKey
) -> Response:
    """The original picture: a file from the data directory, or a redirect to its URL."""
    return _picture(db, settings, principal, task_id, "original")


@router.get("/{task_id}/result", responses=ERRORS, summary="The result file")
def get_result(task_id: TaskId, db: DbDep, settings: SettingsDep, principal: ReaderKey) -> Response:
    """The stored result (PNG, SVG, PSD …) with ``nosniff`` and a no-script CSP."""
    return _picture(db, settings, principal, task_id, "result")


# ------------------------------------------------------------------------------ staff actions
def _by(principal: Principal) -> orders.Caller:
    return orders.Caller.staff(
        actor_name(principal), key_id=principal.key_id, acc_ids=principal.acc_ids
    )


def _reason(body: Annotated[ActionNote | None, Body()] = None) -> str | None:
    return body.reason if body else None


Reason = Annotated[str | None, Depends(_reason)]
"""The optional ``{"reason": ...}`` body of a staff decision (cancel, refund)."""


def _task_verb(path: str, summary: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """``POST /{task_id}/<path>``: a verb on one task that answers the changed task."""
    return router.post(
        f"/{{task_id}}/{path}", response_model=TaskRead, responses=ERRORS, summary=summary
    )


def _run(db: Database, verb: Callable[[Session], orders.Order]) -> TaskRead:
    """One verb in one transaction (committed here, at the edge), as the API's shape."""
    return TaskRead.model_validate(db.run_write(verb).model_dump())


@_task_verb("requirements", "Add a requirement as staff")
def add_requirement(
    task_id: TaskId, body: RequirementCreate, db: DbDep, clock: ClockDep, principal: ReaderKey
) -> TaskRead:
    """Append ``[MM-DD HH:MM] text`` to the notes, ``changed_by = staff`` (before payment)."""
    return _run(
        db, lambda s: orders.add_note(s, clock, task_id, body.requirement, _by(principal)).order
    )


@_task_verb("operation", "Change the operation")
def change_operation(
    task_id: TaskId,
    body: OperationChange,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: ReaderKey,
) -> TaskRead:
    """Change the operation; 409 ``operation_locked_after_payment`` once the task is paid."""
    operation = staff.check_text("operation", body.operation)
    return _run(
        db,
        lambda s: (
            orders.change_operation(
                s, clock, settings.prices, task_id, operation, _by(principal)
            ).order
        ),
    )


@_task_verb("confirm", "Confirm the result")
def confirm(task_id: TaskId, db: DbDep, clock: ClockDep, principal: ReaderKey) -> TaskRead:
    """``awaiting_confirm → completed`` on the customer's behalf."""
    return _run(db, lambda s: orders.confirm(s, clock, task_id, _by(principal)))


@_task_verb("hand-to-designer", "Hand to a human designer")
def hand_to_designer(
    task_id: TaskId, body: HandToDesigner, db: DbDep, clock: ClockDep, principal: ReaderKey
) -> TaskRead:
    """``→ with_designer`` and a dispatch request in the outbox, in one transaction."""
    return _run(
        db, lambda s: orders.hand_to_designer(s, clock, task_id, body.reason, _by(principal))
    )


@_task_verb("retry", "Retry processing")
def retry(
    task_id: TaskId, db: DbDep, clock: ClockDep, queue: QueueDep, principal: StaffKey
) -> TaskRead:
    """``failed → processing`` with a new processing job enqueued in the same transaction."""
    return _run(db, lambda s: orders.retry(s, clock, queue, task_id, _by(principal)))


@_task_verb("cancel", "Cancel")
def cancel(
    task_id: TaskId, db: DbDep, clock: ClockDep, principal: StaffKey, reason: Reason
) -> TaskRead:
    """``pending → cancelled`` (an unpaid task the shop will not do)."""
    return _run(db, lambda s: orders.cancel(s, clock, task_id, _by(principal), reason=reason))


@_task_verb("refund", "Refund")
def refund(
    task_id: TaskId, db: DbDep, clock: ClockDep, principal: StaffKey, reason: Reason
) -> TaskRead:
    """Paid, processing, failed, with a designer or awaiting confirmation ``→ refunded``."""
    return _run(db, lambda s: orders.refund(s, clock, task_id, _by(principal), reason=reason))
