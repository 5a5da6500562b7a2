"""The finish-callback receiver on 6060: a designer's result comes back into the task.

``POST /api/v1/dispatch/callback`` takes no bearer key; it is authenticated by its HMAC signature
(:mod:`ai_cs.core.signing`), checked over the raw body in constant time before anything is
parsed, with a timestamp at most 300 s off either way. Then:

1. a callback whose ``event_id`` was applied before answers ``200 {"duplicate": true}`` and does
   nothing else (replays and the sender's retries have no second effect);
2. the result is **downloaded over HTTP** from the callback's ``result_url`` with ai-cs's own
   dispatch key. That works whether or not the dispatch service shares the data directory (a
   shop's own dispatch system never does), and the URL must be on the configured dispatch
   service, so a callback cannot make ai-cs send its key or requests anywhere else. The bytes
   must match the signed ``result_sha256``;
3. the file passes the same checks as on upload (:func:`ai_cs.dispatch.results.check_result`)
   and is stored like an engine's result, through the worker's result storage
   (:class:`ai_cs.processing.storage.LocalStorage`: ``DATA_DIR/results/ab/<sha256>.ext``), and
   ``result_image`` holds the same kind of storage key the worker writes;
4. one transaction records the event id and moves the task ``with_designer → awaiting_confirm``
   with ``result_image`` set and ``error_message`` cleared (compare-and-set). Two copies of one
   callback racing each other: the second fails on the event id's primary key and is answered
   as a duplicate.

A callback for a task that is no longer with a designer gets 409 (the sender stops retrying);
a dispatch service that cannot deliver the file gets 5xx (the sender retries).
"""

from __future__ import annotations

import hashlib
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ai_cs.clock import Clock, iso
from ai_cs.config import Settings, get_settings
from ai_cs.core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from ai_cs.core.tasks import TaskStatus
from ai_cs.db.database import Database
from ai_cs.dispatch.client import DispatchClient, HttpDispatchClient
from ai_cs.dispatch.config import callback_secret
from ai_cs.dispatch.models import DispatchCallbackEvent
from ai_cs.dispatch.results import ResultRejected, check_result
from ai_cs.dispatch.schemas import CallbackBody
from ai_cs.errors import AicsError, Conflict, InvalidArgument
from ai_cs.processing.storage import LocalStorage, ResultStorage
from ai_cs.tasks import service as tasks
from ai_cs.web.errors import error_responses

__all__ = ["CALLBACK_PATH", "apply_callback", "callback_secret", "router"]

CALLBACK_PATH = "/api/v1/dispatch/callback"
MAX_CALLBACK_BYTES = 64 * 1024
"""A callback is a small JSON document; anything bigger is refused unread."""

router = APIRouter(tags=["dispatch"])


class PayloadTooLarge(AicsError, code="payload_too_large", http_status=413):
    """The request body is larger than the endpoint accepts."""


class TaskNotWithDesigner(Conflict, code="task_not_with_designer"):
    """The task is not waiting for a designer's result (already done, refunded, elsewhere)."""


class ResultMismatch(ResultRejected, code="result_mismatch"):
    """The downloaded result is not the file the signed callback names."""


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"callback body of {declared} bytes; at most {limit} are accepted")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"callback body larger than {limit} bytes")
    return bytes(body)


def _seen(session: Session, event_id: str) -> DispatchCallbackEvent | None:
    return session.get(DispatchCallbackEvent, event_id)


def _duplicate(event: CallbackBody) -> dict[str, Any]:
    return {"duplicate": True, "event_id": event.event_id, "task_id": event.task_id}


def apply_callback(
    db: Database,
    clock: Clock,
    client: DispatchClient,
    storage: ResultStorage,
    event: CallbackBody,
) -> dict[str, Any]:
    """Apply a verified callback (steps 1–4 of the module docstring); returns the answer body."""
    with db.read() as session:
        # Task first, then the event: under READ COMMITTED a twin committing in between shows
        # up as "seen" here rather than as a task that already moved on.
        task = tasks.get_task(session, event.task_id)
        seen = _seen(session, event.event_id)
    if seen is not None:
        return _duplicate(event)
    if task["status"] != TaskStatus.WITH_DESIGNER.value:
        raise TaskNotWithDesigner(
            f"task {event.task_id!r} is {task['status']!r}, not waiting for a designer",
            task_id=event.task_id,
        )
    data = client.fetch_result(event.result_url)
    if event.result_sha256 and hashlib.sha256(data).hexdigest() != event.result_sha256:
        raise ResultMismatch(
            f"the file at {event.result_url!r} is not the result the callback names",
            job_id=event.job_id,
        )
    checked = check_result(data, task["operation"], task["requirements"])
    key = storage.put(checked.data, checked.extension)

    def record(session: Session) -> dict[str, Any]:
        session.add(
            DispatchCallbackEvent(
                event_id=event.event_id,
                job_id=event.job_id,
                task_id=event.task_id,
                designer=event.designer,
                result_image=key,
                received_at=iso(clock.now()),
            )
        )
        session.flush()  # a concurrent copy of this event fails here, before the task moves
        return tasks.transition(
            session,
            clock,
            event.task_id,
            TaskStatus.AWAITING_CONFIRM,
            expected=[TaskStatus.WITH_DESIGNER],
            result_image=key,
            error_message=None,
        )

    try:
        moved = db.run_write(record)
    except IntegrityError:
        return _duplicate(event)
    return {
        "duplicate": False,
        "event_id": event.event_id,
        "task_id": moved["task_id"],
        "status": moved["status"],
        "result_image": moved["result_image"],
    }


@router.post(
    CALLBACK_PATH,
    # Signed, not keyed: 401 is a missing or wrong signature, 404 an unknown task, 409 a task
    # no longer waiting for a designer, 413 an oversized body, 422 an invalid body or result.
    responses=error_responses(401, 404, 409, 413, 422),
)
async def dispatch_callback(request: Request) -> dict[str, Any]:
    """A designer finished a job (signed by the dispatch service); the task gets the result."""
    state = request.app.state
    settings: Settings = getattr(state, "settings", None) or get_settings()
    db: Database = state.db
    clock: Clock = state.clock
    raw = await _read_body(request, MAX_CALLBACK_BYTES)
    verify(
        callback_secret(settings),
        request.headers.get(TIMESTAMP_HEADER),
        request.headers.get(SIGNATURE_HEADER),
        raw,
        clock.epoch(),
    )
    try:
        event = CallbackBody.model_validate_json(raw)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
            for err in exc.errors()[:3]
        ]
        raise InvalidArgument(f"callback body is invalid: {'; '.join(problems)}") from exc
    # Seams for tests and deployments: a shared client or another result store on app.state.
    shared: DispatchClient | None = getattr(state, "dispatch_client", None)
    storage: ResultStorage = getattr(state, "result_storage", None) or LocalStorage(
        settings.data_dir
    )

    def run() -> dict[str, Any]:
        if shared is not None:
            return apply_callback(db, clock, shared, storage, event)
        with HttpDispatchClient.from_settings(settings, db, clock) as client:
            return apply_callback(db, clock, client, storage, event)

    return await anyio.to_thread.run_sync(run)
