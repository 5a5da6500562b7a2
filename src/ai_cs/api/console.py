"""The staff console (客服工作台): server-rendered pages with a little vanilla JavaScript.

Login takes a ``staff`` (or ``admin``) API key once and starts a server-side session; the
HttpOnly cookie holds only the random session id (:mod:`ai_cs.api.sessions`: logout revokes it,
a cross-site login post is refused). Forms carry a CSRF token derived from the session id
(HMAC), so a request forged from another site fails even if a browser sent the cookie.
Pages go out with a strict Content-Security-Policy (scripts and styles only from the
console's own static files). The board refreshes itself by polling a server-rendered fragment.

Every action calls the same services as the JSON API (:mod:`ai_cs.tasks.staff`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from ai_cs import datafiles
from ai_cs.api import console_labels as labels
from ai_cs.api.ratelimit import Limiter
from ai_cs.api.sessions import (
    COOKIE,
    close_session,
    cross_site_reason,
    forget_cookie,
    open_session,
    principal_of_session,
    set_session_cookie,
)
from ai_cs.auth.service import Principal, Scope
from ai_cs.bridges import consign
from ai_cs.core.money import yuan_fixed
from ai_cs.core.operations import OPERATIONS
from ai_cs.core.tasks import Operation, TaskStatus
from ai_cs.core.wording import STATUS_NAMES
from ai_cs.errors import AicsError, AuthError, Forbidden, NotFound
from ai_cs.imaging import thumbs
from ai_cs.imaging.fetch import fetch_image
from ai_cs.tasks import orders, service, staff
from ai_cs.web.deps import actor_name, authenticate_key
from ai_cs.web.files import FILE_CSP, media_type_of, picture_references, stored_picture_response
from ai_cs.workflow import Workflow

HERE: Final = Path(__file__).parent
BOARD_CARDS_PER_COLUMN: Final = 30
POLL_SECONDS: Final = 3

PAGE_CSP: Final = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)

BOARD_COLUMNS: Final = (
    TaskStatus.PENDING,
    TaskStatus.PAID,
    TaskStatus.PROCESSING,
    TaskStatus.FAILED,
    TaskStatus.WITH_DESIGNER,
    TaskStatus.AWAITING_CONFIRM,
    TaskStatus.COMPLETED,
    TaskStatus.CANCELLED,
    TaskStatus.REFUNDED,
)

STATUS_LABELS: Final = dict(STATUS_NAMES)
OPERATION_LABELS: Final = {op.value: spec.staff_label for op, spec in OPERATIONS.items()}
CHANGE_LABELS: Final = {
    "add_note": "添加备注",
    "modify_operation": "修改操作",
    "add_requirement": "添加需求",
}
ACTOR_LABELS: Final = {"customer": "客户", "staff": "客服"}
ACTION_LABELS: Final = {
    "confirm": "确认完成",
    "hand_to_designer": "转人工设计师",
    "retry": "重新处理",
    "cancel": "取消任务",
    "refund": "标记退款",
}
JOB_LABELS: Final = {"queued": "排队中", "running": "处理中", "done": "完成", "dead": "已放弃"}
RISK_LABELS: Final = {"accept": "可接单", "review": "需人工审核", "decline": "建议拒单"}
DISPATCH_LABELS: Final = {"pending": "待发送", "sent": "已派单", "failed": "发送失败"}

OK_MESSAGES: Final = {
    "note_added": "备注已添加",
    "operation_changed": "操作类型已修改",
    "confirm": "任务已确认完成",
    "hand_to_designer": "已转给人工设计师",
    "retry": "已重新加入处理队列",
    "cancel": "任务已取消",
    "refund": "已标记为退款",
    "consign": "已确认发货，几秒内同步到闲鱼",
    "drafted": "AI 已起草回复，复制后粘贴到买家的聊天窗口",
}
ERROR_MESSAGES: Final = {
    "requirements_locked_after_payment": "任务已付款，不能再添加需求",
    "operation_locked_after_payment": "任务已付款，不能再修改操作类型",
    "invalid_transition": "任务当前的状态不允许这个操作",
    "concurrent_update": "任务刚被别人改过，请刷新后再试",
    "empty_requirement": "内容不能为空",
    "requirement_too_long": "内容太长了",
    "unknown_operation": "没有这种操作类型",
    "task_not_found": "找不到这个任务",
    "conflict": "操作冲突，请刷新后再试",
    "invalid_argument": "输入不正确",
    "rate_limited": "操作太频繁，请稍后再试",
    "csrf": "页面已过期，请刷新后再提交",
    "unknown_action": "不支持的操作",
    "assist_no_send": "辅助回复会话不会发消息给买家，请在辅助回复页起草后复制",
    "consign_not_allowed": "只有客户已确认、在闲鱼付款的订单才能确认发货",
    "consign_off": "确认发货没有开启（AICS_XIANYU_CONSIGN_DUMMY）",
}
LOGIN_ERRORS: Final = {
    "unauthorized": "密钥无效、已过期或已被吊销",
    "forbidden": "这个密钥没有客服权限",
    "expired": "登录已失效，请重新登录",
    "cross_site": "登录请求来自其他网站，已拒绝；请直接打开客服工作台登录",
}


class ConsoleLoginRequired(Exception):
    """The console needs a (valid, staff) login; answered with a redirect to the login page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ---------------------------------------------------------------------------------- helpers
def csrf_token(session_id: str) -> str:
    """The form token of a login: only someone holding the session cookie can compute it."""
    return hmac.new(session_id.encode(), b"aics-console-csrf", hashlib.sha256).hexdigest()[:40]


def _yuan(fen: object) -> str:
    if isinstance(fen, bool) or not isinstance(fen, int):
        return "—"
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{yuan_fixed(abs(fen))}"


def _short_time(value: object) -> str:
    if not isinstance(value, str) or not value:
        return "—"
    try:
        return datetime.fromisoformat(value).strftime("%m-%d %H:%M")
    except ValueError:
        return value[:16]


def _label(table: dict[str, str]) -> Callable[[object], str]:
    return lambda value: table.get(str(value), str(value))


def _build_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        yuan=_yuan,
        short_time=_short_time,
        status_label=_label(STATUS_LABELS),
        operation_label=_label(OPERATION_LABELS),
        change_label=_label(CHANGE_LABELS),
        actor_label=_label(ACTOR_LABELS),
        action_label=_label(ACTION_LABELS),
        risk_label=_label(RISK_LABELS),
        job_label=_label(JOB_LABELS),
        dispatch_label=_label(DISPATCH_LABELS),
        platform_label=labels.platform_label,
    )
    env.globals.update(explain_error=labels.explain_error, explained=labels.explained)
    return Jinja2Templates(env=env)


def page_headers() -> dict[str, str]:
    """Security headers of every console page."""
    return {
        "Content-Security-Policy": PAGE_CSP,
        "X-Frame-Options": "DENY",
        # same-origin, not no-referrer: with no-referrer a browser posts forms with "Origin: null",
        # and the login refuses null origins (api/sessions.py); other sites still get nothing.
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """A console template with the login, CSRF token and flash messages filled in."""
    templates: Jinja2Templates = request.app.state.console_templates
    principal: Principal | None = getattr(request.state, "console_principal", None)
    key = request.cookies.get(COOKIE)
    err = request.query_params.get("err")
    base = {
        "principal": principal,
        "csrf": csrf_token(key) if key and principal else "",
        "poll_seconds": getattr(request.app.state, "console_poll_seconds", POLL_SECONDS),
        "nav": getattr(request.app.state, "console_nav", ()),
        "ok_message": OK_MESSAGES.get(request.query_params.get("ok", "")),
        "error_message": ERROR_MESSAGES.get(err, "操作失败") if err else None,
    }
    response = templates.TemplateResponse(
        request, name, {**base, **context}, status_code=status_code, headers=page_headers()
    )
    assert isinstance(response, HTMLResponse)
    return response


def workflow_of(request: Request) -> Workflow:
    """The app's workflow."""
    workflow: Workflow = request.app.state.workflow
    return workflow


def console_staff(request: Request) -> Principal:
    """The logged-in staff member (server-side session of the cookie), rate-limited like the API."""
    token = request.cookies.get(COOKIE)
    if not token:
        raise ConsoleLoginRequired("login")
    workflow = workflow_of(request)
    try:
        principal = principal_of_session(workflow.db, workflow.clock, token)
        principal.require(Scope.STAFF)
    except (AuthError, Forbidden):
        raise ConsoleLoginRequired("expired") from None
    limiter: Limiter = request.app.state.rate_limiter
    limiter.check(principal.key_id)
    request.state.console_principal = principal
    return principal


ConsoleStaff = Annotated[Principal, Depends(console_staff)]


CsrfField = Annotated[str, Form(max_length=100)]
"""The ``csrf`` field every console form posts (checked by :func:`csrf_ok`)."""


def csrf_ok(request: Request, csrf: str) -> bool:
    """True when the form token belongs to the logged-in key."""
    key = request.cookies.get(COOKIE, "")
    return bool(key) and hmac.compare_digest(csrf_token(key), csrf or "")


def back_to(path: str, **params: str) -> RedirectResponse:
    """303 to a console page with flash parameters (``ok=…`` / ``err=…`` codes, not text)."""
    query = f"?{urlencode(params)}" if params else ""
    return RedirectResponse(f"{path}{query}", status_code=303)


def safe_next(value: str | None) -> str:
    """A console path to go to after login; never an absolute or protocol-relative URL."""
    if (
        value
        and value.startswith("/console")
        and not value.startswith("//")
        and "\\" not in value
        and all(ord(ch) >= 32 for ch in value)
    ):
        return value
    return "/console/"


def run_action(
    request: Request, page: str, csrf: str, action: Callable[[Session], object], ok: str
) -> Response:
    """Check the form token, run ``action`` in one transaction, and go back to ``page``."""
    if not csrf_ok(request, csrf):
        return back_to(page, err="csrf")
    try:
        workflow_of(request).db.run_write(action)
    except (AuthError, Forbidden):
        raise
    except AicsError as exc:
        return back_to(page, err=exc.code)
    return back_to(page, ok=ok)


# ---------------------------------------------------------------------------------- pages
router = APIRouter(prefix="/console", include_in_schema=False)
"""The login, the logout and the pages that answer a missing login themselves."""
staff_router = APIRouter(
    prefix="/console", include_in_schema=False, dependencies=[Depends(console_staff)]
)
"""Pages for logged-in staff only."""

QueryText = Annotated[str | None, Query(max_length=100)]
ShopFilter = Annotated[str | None, Query(max_length=128)]


@router.get("/login")
def login_page(request: Request, reason: str | None = None, next: str | None = None) -> Response:
    """The login form."""
    return render(
        request,
        "login.html",
        {"login_error": LOGIN_ERRORS.get(reason or ""), "next": safe_next(next)},
    )


@router.post("/login")
def login(
    request: Request,
    key: Annotated[str, Form(max_length=300)],
    next: Annotated[str, Form(max_length=300)] = "/console/",
) -> Response:
    """Check the key (staff scope) and start a server-side session (:mod:`.sessions`)."""
    workflow = workflow_of(request)
    settings = request.app.state.settings
    if cross_site_reason(request, settings) is not None:
        return render(
            request,
            "login.html",
            {"login_error": LOGIN_ERRORS["cross_site"], "next": "/console/"},
            status_code=403,
        )
    try:
        principal = authenticate_key(workflow.db, workflow.clock, key.strip())
        principal.require(Scope.STAFF)
    except (AuthError, Forbidden) as exc:
        return render(
            request,
            "login.html",
            {"login_error": LOGIN_ERRORS[exc.code], "next": safe_next(next)},
            status_code=exc.http_status,
        )
    token = open_session(workflow.db, workflow.clock, principal)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(response, request, settings, token)
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the login on the server and in the browser (a forged logout only logs out)."""
    close_session(workflow_of(request).db, request)
    response = RedirectResponse("/console/login", status_code=303)
    forget_cookie(response, request, request.app.state.settings)
    return response


def _board_columns(
    session: Session, query: str | None, acc_id: str | None, data_dir: Path
) -> list[dict[str, Any]]:
    columns = []
    for status in BOARD_COLUMNS:
        found, count = staff.find_tasks(
            session, status=status.value, query=query, acc_id=acc_id, limit=BOARD_CARDS_PER_COLUMN
        )
        tasks = with_previews(data_dir, found)
        columns.append({"status": status.value, "tasks": tasks, "count": count})
    return columns


def stored_preview(data_dir: Path, task: dict[str, Any], what: str) -> str | None:
    """The stored reference a preview of the task's ``original``/``result`` is made from.

    Only a picture we hold (a storage key inside the data directory) of a type that has
    previews: cards never load a customer's URL or a full-size file.
    """
    for reference in picture_references(task, what):
        if thumbs.can_preview(reference) and datafiles.stored_file(data_dir, reference):
            return reference
    return None


def with_previews(data_dir: Path, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tasks with ``thumb_original`` / ``thumb_result`` flags for the cards."""
    return [
        {
            **task,
            "thumb_original": stored_preview(data_dir, task, "original") is not None,
            "thumb_result": stored_preview(data_dir, task, "result") is not None,
        }
        for task in tasks
    ]


def _clean(value: str | None) -> str | None:
    return (value.strip() or None) if value else None


@router.get("")
def console_root() -> Response:
    """``/console`` → the dashboard (经营概览)."""
    return RedirectResponse("/console/", status_code=307)


@staff_router.get("/board")
def board(request: Request, q: QueryText = None, acc_id: ShopFilter = None) -> Response:
    """任务看板: one column per status, refreshed by polling."""
    query, shop = _clean(q), _clean(acc_id)
    try:
        with workflow_of(request).db.read() as session:
            columns = _board_columns(session, query, shop, request.app.state.settings.data_dir)
    except AicsError as exc:
        return back_to("/console/board", err=exc.code)
    return render(
        request, "board.html", {"columns": columns, "q": query or "", "acc_id": shop or ""}
    )


@router.get("/board/fragment")
def board_fragment(request: Request, q: QueryText = None, acc_id: ShopFilter = None) -> Response:
    """The board's columns alone (polled by console.js); 401 when the login is gone."""
    try:
        console_staff(request)
    except ConsoleLoginRequired:
        return Response(status_code=401, headers={"Cache-Control": "no-store"})
    with workflow_of(request).db.read() as session:
        columns = _board_columns(
            session, _clean(q), _clean(acc_id), request.app.state.settings.data_dir
        )
    return render(request, "_columns.html", {"columns": columns})


@staff_router.get("/search")
def search(
    request: Request,
    q: QueryText = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """搜索: task id, customer, shop account or note text."""
    status_value = status if status in STATUS_LABELS else None
    query = _clean(q)
    with workflow_of(request).db.read() as session:
        tasks, count = staff.find_tasks(
            session, query=query, status=status_value, limit=50, offset=offset
        )
    return render(
        request,
        "search.html",
        {
            "tasks": tasks,
            "count": count,
            "q": query or "",
            "status": status_value or "",
            "statuses": STATUS_LABELS,
            "offset": offset,
            "next_offset": offset + 50 if offset + 50 < count else None,
        },
    )


def _event_key(event: dict[str, Any]) -> tuple[int, float, str]:
    # Stored stamps are ISO text with the shop's offset; order by the instant when they parse.
    try:
        return 1, datetime.fromisoformat(str(event["at"])).timestamp(), ""
    except (ValueError, OSError, OverflowError):
        return 0, 0.0, str(event["at"])


def timeline(
    task: dict[str, Any],
    history: list[dict[str, Any]],
    actions: list[dict[str, Any]],
    dispatch: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Every dated event of the task, newest first."""
    events: list[dict[str, Any]] = []
    for field, label in (
        ("created_at", "创建任务"),
        ("paid_at", "客户付款"),
        ("started_at", "开始处理"),
        ("completed_at", "完成"),
    ):
        if task.get(field):
            events.append({"at": task[field], "kind": "status", "title": label, "text": ""})
    for row in history:
        change = row["change_type"]
        if change == "modify_operation":
            text = (
                f"{OPERATION_LABELS.get(row['old_value'], row['old_value'])} → "
                f"{OPERATION_LABELS.get(row['new_value'], row['new_value'])}"
            )
        else:
            text = row["new_value"]
        who = ACTOR_LABELS.get(row["changed_by"], row["changed_by"])
        events.append(
            {
                "at": row["changed_at"],
                "kind": "change",
                "title": f"{CHANGE_LABELS.get(change, change)}（{who}）",
                "text": text,
            }
        )
    for row in actions:
        events.append(
            {
                "at": row["created_at"],
                "kind": "action",
                "title": f"{ACTION_LABELS.get(row['action'], row['action'])}"
                f"（{labels.actor_label(row['actor'])}）",
                "text": labels.explained(row["detail"]),
            }
        )
    for row in dispatch:
        events.append(
            {
                "at": row["created_at"],
                "kind": "dispatch",
                "title": f"派单请求：{DISPATCH_LABELS.get(row['status'], row['status'])}",
                "text": labels.explained(row["reason"]),
            }
        )
    events.sort(key=_event_key, reverse=True)
    return events


@staff_router.get("/tasks/{task_id}")
def task_page(request: Request, task_id: str) -> Response:
    """任务详情: pictures side by side, analysis, quote, risk, timeline, note form, actions."""
    try:
        with workflow_of(request).db.read() as session:
            task = staff.visible_task(session, task_id, None)
            tid = task["task_id"]
            history = service.get_history(session, tid)
            actions = staff.staff_actions(session, tid)
            dispatch = staff.dispatch_requests(session, tid)
            jobs = staff.jobs_of(session, tid)
            shipping = (
                consign.consign_of(session, tid)
                if request.app.state.settings.xianyu_consign_dummy
                else None
            )
    except AicsError:
        return render(request, "not_found.html", {"task_id": task_id[:128]}, status_code=404)
    result_type = media_type_of(Path(str(task["result_image"]))) if task.get("result_image") else ""
    data_dir = request.app.state.settings.data_dir
    requirements = task["requirements"] if isinstance(task["requirements"], dict) else {}
    quote = task["quote"] if isinstance(task["quote"], dict) else None
    return render(
        request,
        "task.html",
        {
            "task": task,
            "analysis": labels.analysis_rows(requirements),
            "output": labels.output_rows(requirements),
            "quote": quote,
            "quote_rows": labels.quote_rows(quote) if quote else [],
            "error": labels.explain_error(task.get("error_message")),
            "preview_original": stored_preview(data_dir, task, "original") is not None,
            "preview_result": stored_preview(data_dir, task, "result") is not None,
            "risk": task["risk"] if isinstance(task["risk"], dict) else None,
            "history": history,
            "conversation_url": f"/console/conversations/{task['conversation_id']}"
            if task.get("conversation_id") and request.app.state.console_conversations
            else None,
            "timeline": timeline(task, history, actions, dispatch),
            "dispatch": dispatch,
            "jobs": jobs,
            "consign": shipping,
            "actions": staff.allowed_actions(task["status"]),
            "editable": task["status"] == TaskStatus.PENDING.value,
            "operations": [
                (op.value, OPERATION_LABELS.get(op.value, op.value)) for op in Operation
            ],
            "result_is_image": result_type.startswith("image/")
            and result_type != "image/vnd.adobe.photoshop",
        },
    )


def _picture_kind(what: str) -> str:
    """``original`` or ``result``, the two pictures of a task; anything else is a 404."""
    if what not in ("original", "result"):
        raise NotFound(f"no picture {what!r}")
    return what


def _picture(request: Request, task_id: str, what: str) -> Response:
    with workflow_of(request).db.read() as session:
        task = staff.visible_task(session, task_id, None)
    settings = request.app.state.settings
    return stored_picture_response(
        settings.data_dir,
        *picture_references(task, what),
        what=what,
        task_id=task["task_id"],
        fetch=lambda url: fetch_image(url, settings).data,
    )


PreviewSize = Annotated[int, Query(ge=1, le=10_000)]
"""The ``size`` query of a preview route: the longest side in pixels."""


def preview_response(
    data_dir: Path, reference: str | None, size: int, *, missing: str
) -> FileResponse:
    """The cached WebP preview of a stored picture, or 404 ``missing`` when there is none.

    Previews are made once and never change, so the browser may keep them for a day.
    """
    path = thumbs.preview(data_dir, reference, size) if reference else None
    if path is None:
        raise NotFound(missing)
    return FileResponse(
        path,
        media_type="image/webp",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": FILE_CSP,
            "Cache-Control": "private, max-age=86400",
        },
    )


@staff_router.get("/tasks/{task_id}/preview/{what}")
def task_preview(
    request: Request, task_id: str, what: str, size: PreviewSize = thumbs.SIZES[0]
) -> Response:
    """A small preview of the task's stored original or result (made once, cached on disk)."""
    what = _picture_kind(what)
    data_dir = request.app.state.settings.data_dir
    with workflow_of(request).db.read() as session:
        task = staff.visible_task(session, task_id, None)
    return preview_response(
        data_dir,
        stored_preview(data_dir, task, what),
        size,
        missing=f"task {task['task_id']!r} has no {what} preview at {size}px",
    )


@staff_router.get("/tasks/{task_id}/{what}")
def task_picture(request: Request, task_id: str, what: str) -> Response:
    """The customer's picture (``original``) or the result file (``result``) for the task page."""
    return _picture(request, task_id, _picture_kind(what))


@dataclass(frozen=True)
class _TaskPage:
    """A staff member acting on the task page's task: who, on what, and where to go back to."""

    request: Request
    task_id: str
    by: orders.Caller

    @property
    def workflow(self) -> Workflow:
        """The app's workflow (its clock and queue)."""
        return workflow_of(self.request)

    @property
    def url(self) -> str:
        """The task page."""
        return f"/console/tasks/{self.task_id}"

    def run(self, csrf: str, action: Callable[[Session], object], ok: str) -> Response:
        """:func:`run_action` on the task, back to its page."""
        return run_action(self.request, self.url, csrf, action, ok)


def _task_page(request: Request, task_id: str, principal: ConsoleStaff) -> _TaskPage:
    by = orders.Caller.staff(actor_name(principal), key_id=principal.key_id)
    return _TaskPage(request, task_id, by)


TaskPage = Annotated[_TaskPage, Depends(_task_page)]


@staff_router.post("/tasks/{task_id}/note")
def task_note(
    page: TaskPage, requirement: Annotated[str, Form(max_length=4000)], csrf: CsrfField = ""
) -> Response:
    """Staff adds a requirement (``changed_by = staff``)."""
    clock, task_id, by = page.workflow.clock, page.task_id, page.by
    return page.run(
        csrf, lambda s: orders.add_note(s, clock, task_id, requirement, by), "note_added"
    )


@staff_router.post("/tasks/{task_id}/operation")
def task_operation(
    page: TaskPage, operation: Annotated[str, Form(max_length=64)], csrf: CsrfField = ""
) -> Response:
    """Staff changes the operation (before payment)."""
    clock, task_id, by = page.workflow.clock, page.task_id, page.by
    prices = page.request.app.state.settings.prices
    return page.run(
        csrf,
        lambda s: orders.change_operation(s, clock, prices, task_id, operation, by),
        "operation_changed",
    )


@staff_router.post("/tasks/{task_id}/actions/{action}")
def task_action(
    page: TaskPage,
    action: str,
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf: CsrfField = "",
) -> Response:
    """确认 / 转人工 / 重新处理 / 取消 / 退款 from the task page."""
    workflow, task_id, by = page.workflow, page.task_id, page.by
    clock = workflow.clock
    note = reason.strip() or None
    actions: dict[str, Callable[[Session], object]] = {
        "confirm": lambda s: orders.confirm(s, clock, task_id, by),
        "hand_to_designer": lambda s: orders.hand_to_designer(
            s, clock, task_id, note or "客服手动转人工", by
        ),
        "retry": lambda s: orders.retry(s, clock, workflow.queue, task_id, by),
        "cancel": lambda s: orders.cancel(s, clock, task_id, by, reason=note),
        "refund": lambda s: orders.refund(s, clock, task_id, by, reason=note),
    }
    run = actions.get(action)
    if run is None:
        return back_to(page.url, err="unknown_action")
    return page.run(csrf, run, action)


@staff_router.get("/dispatch")
def dispatch_page(request: Request) -> Response:
    """派单状态: tasks with designers and every dispatch request's delivery state."""
    with workflow_of(request).db.read() as session:
        requests = staff.dispatch_board(session)
        with_designer, count = staff.find_tasks(
            session, status=TaskStatus.WITH_DESIGNER.value, limit=100
        )
    return render(
        request,
        "dispatch.html",
        {"requests": requests, "with_designer": with_designer, "with_designer_count": count},
    )


def install(app: FastAPI) -> None:
    """Add the console's pages, static files and login redirect to ``app``."""
    app.state.console_templates = _build_templates()
    app.include_router(router)
    app.include_router(staff_router)
    # The conversation pages (api/console_conversations.py) are included by create_app, which
    # composes the console; they build on this module, so this module does not import them.
    app.state.console_conversations = True
    app.state.console_nav = (
        ("/console/", "经营概览"),
        ("/console/board", "任务看板"),
        ("/console/conversations", "客户会话"),
        ("/console/assist", "辅助回复"),
        ("/console/dispatch", "派单状态"),
        ("/console/notify", "消息通知"),
    )
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")

    @app.exception_handler(ConsoleLoginRequired)
    async def _login_required(request: Request, exc: Exception) -> Response:
        reason = exc.reason if isinstance(exc, ConsoleLoginRequired) else "login"
        params = urlencode({"reason": reason, "next": safe_next(request.url.path)})
        response = RedirectResponse(f"/console/login?{params}", status_code=303)
        if reason == "expired":
            forget_cookie(response, request, request.app.state.settings)
        return response
