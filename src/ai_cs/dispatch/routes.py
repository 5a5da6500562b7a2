"""HTTP routes of the dispatch service: the JSON API under ``/api/v1`` and the designer page.

Keys: ai-cs posts jobs with a ``staff`` (or ``admin``) key; designers list, claim, release and
finish with a ``designer`` key; ``admin`` may do everything. Errors come back as
``{"error": {"code", "message"}}`` through the shared handlers.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from ai_cs import datafiles
from ai_cs.auth.service import Principal, Scope
from ai_cs.clock import Clock
from ai_cs.config import Settings
from ai_cs.db.database import Database
from ai_cs.dispatch import service
from ai_cs.dispatch.options import FORM_OVERHEAD_BYTES, PACKAGE_DIR, DispatchOptions
from ai_cs.dispatch.results import ResultTooLarge, check_result
from ai_cs.dispatch.rules import OPERATION_LABELS, STATUS_LABELS
from ai_cs.dispatch.schemas import (
    ClaimRequest,
    JobCreate,
    JobList,
    JobRead,
    ReleaseRequest,
    WorkloadList,
)
from ai_cs.errors import AicsError, ImageRejected, InvalidArgument, NotFound
from ai_cs.processing.storage import ResultStorage
from ai_cs.web.deps import ClockDep, DbDep, require
from ai_cs.web.errors import error_responses
from ai_cs.web.limits import limited_receive

router = APIRouter(prefix="/api/v1", tags=["dispatch"])
page_router = APIRouter(include_in_schema=False)

DesignerDep = Annotated[Principal, Depends(require(Scope.DESIGNER))]
ReaderDep = Annotated[Principal, Depends(require(Scope.DESIGNER, Scope.STAFF))]
StaffDep = Annotated[Principal, Depends(require(Scope.STAFF))]

MAX_ORIGINAL_BYTES = 40 * 1024 * 1024
ORIGINAL_MIMES = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "bmp": "image/bmp",
    "gif": "image/gif",
}
# Files served to the browser are pictures only, never documents that could run script.
FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    "Cache-Control": "private, max-age=300",
}
PAGE_CSP = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_FILENAME_JUNK = re.compile(r"[\x00-\x1f\x7f/\\]+")


class OriginalUnavailable(NotFound, code="original_unavailable"):
    """The original picture cannot be served (missing, outside the data folder, not a picture)."""


class ResultMissing(NotFound, code="result_missing"):
    """The job has no stored result (not finished, or the file is gone)."""


class UnsupportedMediaType(AicsError, code="unsupported_media_type", http_status=415):
    """The request body is not of the required type."""


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _public_url(request: Request) -> str:
    url: str = request.app.state.public_url
    return url


def _to_dict(request: Request, clock: Clock, row: Any) -> dict[str, Any]:
    return service.job_to_dict(row, clock.epoch(), _public_url(request))


@dataclass(frozen=True)
class _Jobs:
    """What the job routes share: the database, the clock, and a job row as the API shows it."""

    request: Request
    db: Database
    clock: Clock

    def show(self, row: Any) -> dict[str, Any]:
        """The row as :class:`JobRead` (links on the public URL, ages on the clock)."""
        return _to_dict(self.request, self.clock, row)

    def write(self, change: Callable[[Session], Any]) -> dict[str, Any]:
        """Run ``change`` in one transaction and show the job it returns."""
        return self.show(self.db.run_write(change))


def _jobs(request: Request, db: DbDep, clock: ClockDep) -> _Jobs:
    return _Jobs(request, db, clock)


JobsDep = Annotated[_Jobs, Depends(_jobs)]


# --- jobs ----------------------------------------------------------------------------------------
@router.post(
    "/jobs",
    response_model=JobRead,
    status_code=201,
    responses={
        200: {"description": "The job already made for this idempotency key."},
        **error_responses(409),
    },
)
def create_job(
    body: JobCreate,
    response: Response,
    jobs: JobsDep,
    _principal: StaffDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> dict[str, Any]:
    """Create a job for a designer (201), or return the one this idempotency key made (200)."""
    key = service.resolve_idempotency_key(idempotency_key, body)
    try:
        row, created = jobs.db.run_write(lambda s: service.create_job(s, jobs.clock, body, key))
    except IntegrityError:
        # A concurrent request with the same key committed first: this one finds its job.
        row, created = jobs.db.run_write(lambda s: service.create_job(s, jobs.clock, body, key))
    response.status_code = 201 if created else 200
    return jobs.show(row)


@router.get("/jobs", response_model=JobList)
def list_jobs(
    jobs: JobsDep,
    _principal: ReaderDep,
    status: Annotated[str | None, Query(description="open, claimed or done")] = None,
    designer: str | None = None,
    task_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Jobs, the longest-waiting first: ``{"data": [...], "count": N}``."""
    with jobs.db.read() as session:
        rows, total = service.list_jobs(
            session, status=status, designer=designer, task_id=task_id, limit=limit, offset=offset
        )
        return {"data": [jobs.show(r) for r in rows], "count": total}


@router.get("/jobs/{job_id}", response_model=JobRead)
def get_job(job_id: str, jobs: JobsDep, _principal: ReaderDep) -> dict[str, Any]:
    """One job."""
    with jobs.db.read() as session:
        return jobs.show(service.load_job(session, job_id))


@router.post("/jobs/{job_id}/claim", response_model=JobRead, responses=error_responses(409))
def claim_job(
    job_id: str, body: ClaimRequest, jobs: JobsDep, principal: DesignerDep
) -> dict[str, Any]:
    """Take an open job (接单). A job is claimed once: anyone later gets 409."""
    return jobs.write(
        lambda s: service.claim_job(s, jobs.clock, job_id, body.designer, principal.key_id)
    )


@router.post("/jobs/{job_id}/release", response_model=JobRead, responses=error_responses(409))
def release_job(
    job_id: str, body: ReleaseRequest, jobs: JobsDep, principal: DesignerDep
) -> dict[str, Any]:
    """Give a claimed job back (放弃); only the designer who claimed it, or an admin."""
    admin = principal.scope is Scope.ADMIN
    return jobs.write(
        lambda s: service.release_job(
            s, jobs.clock, job_id, body.designer, principal.key_id, admin=admin
        )
    )


def _clean_filename(name: str | None) -> str | None:
    if not name:
        return None
    base = _FILENAME_JUNK.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return base[:255] or None


FINISH_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["designer", "result"],
                    "properties": {
                        "designer": {"type": "string", "description": "The claimer's name."},
                        "result": {"type": "string", "format": "binary"},
                    },
                }
            }
        },
    }
}


@router.post(
    "/jobs/{job_id}/finish",
    response_model=JobRead,
    openapi_extra=FINISH_OPENAPI,
    responses=error_responses(409, 415),
)
async def finish_job(job_id: str, request: Request, principal: DesignerDep) -> dict[str, Any]:
    """Upload the result (multipart field ``result``) and finish the job; the API is called back.

    Only the designer who claimed the job, with the same key, may finish it. The upload is cut
    off once it passes the size limit; the file must be a real picture of the kind the
    operation delivers (see :mod:`ai_cs.dispatch.results`).
    """
    state = request.app.state
    opts: DispatchOptions = state.options
    db, clock = state.db, state.clock
    limit = opts.max_result_bytes + FORM_OVERHEAD_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ResultTooLarge(
            f"the upload has {declared} bytes; results up to {opts.max_result_bytes} are accepted"
        )
    content_type = request.headers.get("content-type", "").lower()
    if not content_type.startswith("multipart/form-data") or "boundary=" not in content_type:
        raise UnsupportedMediaType("finish takes multipart/form-data with a 'result' file field")
    too_large = functools.partial(ResultTooLarge, f"the upload is larger than {limit} bytes")
    limited = Request(request.scope, receive=limited_receive(request.receive, limit, too_large))
    form = await limited.form(max_files=1, max_fields=8)
    try:
        designer = form.get("designer")
        upload = form.get("result")
        if not isinstance(designer, str) or not designer.strip():
            raise InvalidArgument("the form field 'designer' (the claimer's name) is required")
        if not isinstance(upload, UploadFile):
            raise InvalidArgument("the form needs a file field 'result'")
        designer = designer.strip()

        def precheck() -> tuple[str, Any]:
            with db.read() as session:
                job = service.check_can_finish(session, job_id, designer, principal.key_id)
                # The job's analysis is the task's requirements: what the order asked for.
                return job.operation, service.decode_json(job.analysis)

        operation, asked = await anyio.to_thread.run_sync(precheck)
        data = await upload.read(opts.max_result_bytes + 1)
        filename = _clean_filename(upload.filename)
    finally:
        await form.close()
    if len(data) > opts.max_result_bytes:
        raise ResultTooLarge(f"the result is larger than {opts.max_result_bytes} bytes")
    checked = await anyio.to_thread.run_sync(check_result, data, operation, asked)
    storage: ResultStorage = state.result_storage
    key = await anyio.to_thread.run_sync(storage.put, checked.data, checked.extension)

    def finish() -> Any:
        return db.run_write(
            lambda s: service.finish_job(
                s,
                clock,
                job_id,
                designer,
                principal.key_id,
                result=checked,
                result_path=key,
                result_name=filename,
                base_url=_public_url(request),
            )
        )

    row, finished_now = await anyio.to_thread.run_sync(finish)
    if finished_now:
        state.wake.set()  # deliver the callback now rather than at the next poll
    return _to_dict(request, clock, row)


def _image_mime(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return ORIGINAL_MIMES["png"]
    if data.startswith(b"\xff\xd8\xff"):
        return ORIGINAL_MIMES["jpeg"]
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ORIGINAL_MIMES["webp"]
    if data.startswith(b"BM"):
        return ORIGINAL_MIMES["bmp"]
    if data.startswith((b"GIF87a", b"GIF89a")):
        return ORIGINAL_MIMES["gif"]
    return None


def _read_original(settings: Settings, original: str) -> bytes:
    """The original picture's bytes: a customer URL (fetched safely) or a file in the data dir.

    A picture that cannot be had raises :class:`~ai_cs.errors.ImageRejected` (as intake does).
    """
    from ai_cs.imaging.intake import is_url, read_local

    if is_url(original):
        from ai_cs.imaging.fetch import fetch_image

        return fetch_image(original, settings, max_bytes=MAX_ORIGINAL_BYTES).data
    # Only keyed files of the data directory: a job must not become a way to read any file.
    path = datafiles.stored_file(settings.data_dir, original)
    if path is None:
        raise OriginalUnavailable("the original picture is not in the shop's data folder")
    return read_local(path, MAX_ORIGINAL_BYTES)


@router.get("/jobs/{job_id}/original", response_class=Response)
def get_original(job_id: str, request: Request, db: DbDep, _principal: ReaderDep) -> Response:
    """The customer's original picture, for the designer (原图)."""
    with db.read() as session:
        original = service.load_job(session, job_id).original_image
    try:
        data = _read_original(_settings(request), original)
    except ImageRejected as exc:
        raise OriginalUnavailable(f"the original picture cannot be served: {exc.message}") from exc
    mime = _image_mime(data)
    if mime is None:
        raise OriginalUnavailable("the original is not a picture that can be shown")
    return Response(content=data, media_type=mime, headers=FILE_HEADERS)


@router.get("/jobs/{job_id}/result", response_class=FileResponse)
def get_result(job_id: str, request: Request, db: DbDep, _principal: ReaderDep) -> FileResponse:
    """The designer's stored result file (fetched by ai-cs after the callback)."""
    with db.read() as session:
        row = service.load_job(session, job_id)
        key, mime = row.result_path or "", row.result_mime or "application/octet-stream"
    storage: ResultStorage = request.app.state.result_storage
    try:
        path = storage.path(key)
    except NotFound as exc:
        raise ResultMissing(f"job {job_id!r} has no stored result") from exc
    suffix = path.suffix
    return FileResponse(
        path,
        media_type=mime,
        headers={**FILE_HEADERS, "Content-Disposition": f'inline; filename="{job_id}{suffix}"'},
    )


@router.get("/designers/workload", response_model=WorkloadList)
def designer_workload(db: DbDep, clock: ClockDep, _principal: ReaderDep) -> dict[str, Any]:
    """Claimed, overdue and finished jobs per designer (工作量)."""
    with db.read() as session:
        rows = service.workload(session, clock.epoch())
    return {"data": rows, "count": len(rows)}


@router.get("/reminders")
def list_reminders(
    db: DbDep,
    _principal: ReaderDep,
    designer: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Overdue reminders recorded by the service (催单), newest first."""
    with db.read() as session:
        rows = service.list_reminders(session, designer=designer, limit=limit)
    return {"data": rows, "count": len(rows)}


# --- page ----------------------------------------------------------------------------------------
@functools.cache
def _templates() -> Jinja2Templates:
    return Jinja2Templates(directory=PACKAGE_DIR / "templates")


@page_router.get("/", response_class=HTMLResponse)
def designer_page(request: Request) -> HTMLResponse:
    """The designer page (设计师工作台): log in with a key, claim, view, upload, finish."""
    response = _templates().TemplateResponse(
        request,
        "designer.html",
        {"operation_labels": OPERATION_LABELS, "status_labels": dict(STATUS_LABELS)},
    )
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@page_router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness (no auth)."""
    return {"status": "ok"}
