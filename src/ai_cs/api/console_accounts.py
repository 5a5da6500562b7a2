"""店铺账号: the shop's marketplace accounts in the staff console (CONTRACT §10).

Staff add an account by pasting the cookie of a logged-in goofish.com page, see each account's
state (with its reason), last event and last error, and pause, resume or remove it. With
``AICS_XIANYU_CONSIGN_DUMMY`` on, the page also lists the confirmed 闲鱼 orders waiting for
确认发货, which staff approve here or on the task page (:mod:`ai_cs.bridges.consign`). The running
bridge picks every change up within seconds. Every action goes through
:mod:`ai_cs.bridges.accounts` (the same functions as ``aics accounts``); cookies never come back
out of the database in a page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Final

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from ai_cs.api.console import (
    ConsoleStaff,
    CsrfField,
    back_to,
    console_staff,
    csrf_ok,
    render,
    run_action,
    safe_next,
    workflow_of,
)
from ai_cs.bridges import accounts, consign
from ai_cs.bridges.xianyu.bridge import add_account
from ai_cs.errors import AicsError, NotFound
from ai_cs.web.deps import actor_name

PAGE: Final = "/console/accounts"
MAX_COOKIE_FORM_CHARS: Final = 32_000
OK_MESSAGES: Final = {
    "added": "账号已添加，几秒内开始连接",
    "updated": "Cookie 已更新，账号将重新连接",
    "paused": "账号已暂停",
    "resumed": "账号已恢复",
    "removed": "账号已移除",
}

router = APIRouter(prefix=PAGE, include_in_schema=False, dependencies=[Depends(console_staff)])


def install(app: FastAPI) -> None:
    """Add the page and its place in the console's navigation."""
    app.include_router(router)
    nav = tuple(getattr(app.state, "console_nav", ()))
    app.state.console_nav = (*nav, (PAGE, "店铺账号"))


def _page(request: Request, *, error: str | None = None, status_code: int = 200) -> Response:
    workflow = workflow_of(request)
    consign_on = request.app.state.settings.xianyu_consign_dummy
    with workflow.db.read() as session:
        rows = accounts.list_accounts(session)
        events = {
            (v.platform, v.account_id): accounts.recent_events(
                session, v.platform, v.account_id, limit=5
            )
            for v in rows
        }
        waiting = consign.waiting_consigns(session) if consign_on else []
    ok = request.query_params.get("ok", "")
    return render(
        request,
        "accounts.html",
        {
            "accounts": rows,
            "events": events,
            "account_ok": OK_MESSAGES.get(ok),
            "account_error": error,
            "consign_on": consign_on,
            "waiting_consigns": waiting,
            "state_labels": accounts.STATE_LABELS,
        },
        status_code=status_code,
    )


@router.get("")
def account_list(request: Request) -> Response:
    """Every account with its state, last event and last error."""
    return _page(request)


@router.post("")
def account_add(
    request: Request,
    cookie: Annotated[str, Form(max_length=MAX_COOKIE_FORM_CHARS)] = "",
    csrf: CsrfField = "",
) -> Response:
    """Add a 闲鱼 account from a pasted cookie (or give a known one its new cookie)."""
    if not csrf_ok(request, csrf):
        return _page(request, error="页面已过期，请刷新后重试", status_code=400)
    workflow = workflow_of(request)
    settings = request.app.state.settings
    try:
        _view, created = workflow.db.run_write(
            lambda s: add_account(s, workflow.clock, settings, cookie)
        )
    except AicsError as exc:
        # The cookie error names what is missing, never a value of the cookie.
        return _page(request, error=f"无法使用这个 Cookie：{exc.message}", status_code=422)
    return back_to(PAGE, ok="added" if created else "updated")


@router.post("/orders/{task_id}/consign")
def order_consign(
    request: Request,
    task_id: str,
    principal: ConsoleStaff,
    csrf: CsrfField = "",
    next_page: Annotated[str, Form(alias="next", max_length=300)] = "",
) -> Response:
    """确认发货: approve marking the task's 闲鱼 order shipped (the bridge carries it out)."""
    page = safe_next(next_page) if next_page else PAGE
    if not request.app.state.settings.xianyu_consign_dummy:
        return back_to(page, err="consign_off")
    clock, by = workflow_of(request).clock, actor_name(principal)
    return run_action(
        request,
        page,
        csrf,
        lambda s: consign.request_consign(s, clock, task_id, by=by),
        "consign",
    )


# Declared after the order route: "/orders/{task_id}/consign" would match this pattern too.
@router.post("/{platform}/{account_id}/{verb}")
def account_action(
    request: Request, platform: str, account_id: str, verb: str, csrf: CsrfField = ""
) -> Response:
    """Pause, resume or remove the account; another verb is 404.

    ``pause`` disconnects it and keeps it offline, ``resume`` lets it connect again, ``remove``
    forgets the account and its cookie.
    """
    clock = workflow_of(request).clock
    actions: dict[str, tuple[Callable[[Session], object], str]] = {
        "pause": (lambda s: accounts.set_paused(s, clock, platform, account_id, True), "paused"),
        "resume": (
            lambda s: accounts.set_paused(s, clock, platform, account_id, False),
            "resumed",
        ),
        "remove": (lambda s: accounts.remove_account(s, platform, account_id), "removed"),
    }
    if verb not in actions:
        raise NotFound(f"no account action {verb!r}")
    change, done = actions[verb]
    return run_action(request, PAGE, csrf, change, done)
