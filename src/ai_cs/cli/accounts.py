"""``aics accounts add|list|pause|resume|remove``: marketplace seller accounts (CONTRACT §10)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ai_cs.cli.common import console, database_url, existing_database_url, fail, fail_domain
from ai_cs.errors import AicsError

if TYPE_CHECKING:
    from ai_cs.clock import SystemClock
    from ai_cs.config import Settings
    from ai_cs.db.database import Database

PLATFORMS = ("xianyu",)
COLUMNS = ("platform", "account", "nick", "state", "reason", "last event", "last error", "paused")


def _open(*, must_exist: bool = False) -> tuple[Database, SystemClock, Settings]:
    from ai_cs.clock import SystemClock
    from ai_cs.config import get_settings
    from ai_cs.db.database import Database
    from ai_cs.db.migrate import upgrade

    settings = get_settings()
    db = Database(existing_database_url() if must_exist else database_url())
    upgrade(db)
    return db, SystemClock(settings.tz), settings


def _platform(name: str) -> str:
    if name not in PLATFORMS:
        fail(f"unknown platform {name!r}; supported: {', '.join(PLATFORMS)}")
    return name


def register(app: typer.Typer) -> None:
    """Add the ``accounts`` command group."""
    accounts_app = typer.Typer(
        help="Marketplace seller accounts (cookies stored encrypted).", no_args_is_help=True
    )

    @accounts_app.command("add")
    def add_cmd(
        platform: str = typer.Argument(..., help="xianyu"),
        cookie_file: str = typer.Option(
            ..., "--cookie-file", help="File with the Cookie header of goofish.com ('-' = stdin)."
        ),
    ) -> None:
        """Add an account (or give a known one a fresh cookie) from a logged-in browser's cookie."""
        from ai_cs.bridges.xianyu.bridge import add_account

        _platform(platform)
        try:
            text = sys.stdin.read() if cookie_file == "-" else Path(cookie_file).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read the cookie file {cookie_file!r}: {exc}")
        db, clock, settings = _open()
        try:
            view, created = db.run_write(lambda s: add_account(s, clock, settings, text))
        except AicsError as exc:
            fail_domain(exc)
        verb = "added" if created else "updated (new cookie)"
        nick = f" ({view.nick})" if view.nick else ""
        console.print(
            f"{view.platform} account {view.account_id}{nick} {verb}; state {view.state}",
            highlight=False,
        )
        console.print(
            "it connects with the next `aics serve` or `aics bridge xianyu` (a running one "
            "picks it up within seconds)",
            highlight=False,
        )

    @accounts_app.command("list")
    def list_cmd(as_json: bool = typer.Option(False, "--json")) -> None:
        """List accounts with their state (never their cookies)."""
        from rich.table import Table

        from ai_cs.bridges.accounts import list_accounts
        from ai_cs.cli.common import print_json

        db, _, _ = _open(must_exist=True)
        with db.read() as session:
            rows = list_accounts(session)
        if as_json:
            print_json(
                [
                    {
                        "platform": v.platform,
                        "account_id": v.account_id,
                        "nick": v.nick,
                        "state": v.state,
                        "state_reason": v.state_reason,
                        "state_since": v.state_since,
                        "paused": v.paused,
                        "last_event_at": v.last_event_at,
                        "last_error": v.last_error,
                    }
                    for v in rows
                ]
            )
            return
        table = Table(title="marketplace accounts")
        for col in COLUMNS:
            # Ids are copied into `aics accounts pause xianyu ID`: never wrapped.
            table.add_column(col, no_wrap=col in ("platform", "account"))
        for v in rows:
            table.add_row(
                v.platform,
                v.account_id,
                v.nick or "",
                f"{v.state} {v.state_label}",
                v.state_reason or "",
                v.last_event_at or "",
                v.last_error or "",
                "yes" if v.paused else "",
            )
        console.print(table)

    def _set_paused(platform: str, account_id: str, paused: bool) -> None:
        from ai_cs.bridges.accounts import set_paused

        _platform(platform)
        db, clock, _ = _open(must_exist=True)
        try:
            view = db.run_write(lambda s: set_paused(s, clock, platform, account_id, paused))
        except AicsError as exc:
            fail_domain(exc)
        console.print(f"{platform} account {account_id}: {view.state}", highlight=False)

    @accounts_app.command("pause")
    def pause_cmd(platform: str, account_id: str) -> None:
        """Disconnect an account and keep it offline until resumed."""
        _set_paused(platform, account_id, True)

    @accounts_app.command("resume")
    def resume_cmd(platform: str, account_id: str) -> None:
        """Let a paused account connect again."""
        _set_paused(platform, account_id, False)

    @accounts_app.command("remove")
    def remove_cmd(platform: str, account_id: str) -> None:
        """Forget an account and its cookie (its conversations and tasks stay)."""
        from ai_cs.bridges.accounts import remove_account

        _platform(platform)
        db, _, _ = _open(must_exist=True)
        try:
            db.run_write(lambda s: remove_account(s, platform, account_id))
        except AicsError as exc:
            fail_domain(exc)
        console.print(f"{platform} account {account_id} removed", highlight=False)

    app.add_typer(accounts_app, name="accounts")
