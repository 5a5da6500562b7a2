"""``aics keys create|list|revoke``: bearer keys for the API and the dispatch service."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

from ai_cs.cli.common import console, database_url, existing_database_url, fail_domain
from ai_cs.errors import AicsError

KEY_COLUMNS = ("key_id", "name", "scope", "created_at", "expires_at", "revoked_at", "last_used_at")

if TYPE_CHECKING:
    from ai_cs.clock import SystemClock
    from ai_cs.db.database import Database


def register(app: typer.Typer) -> None:
    """Add the ``keys`` command group."""
    keys_app = typer.Typer(help="API keys (stored hashed; shown once).", no_args_is_help=True)

    def _db(*, must_exist: bool = False) -> tuple[Database, SystemClock]:
        """The migrated database; ``must_exist`` for commands that cannot start a new one."""
        from ai_cs.clock import SystemClock
        from ai_cs.config import get_settings
        from ai_cs.db.database import Database
        from ai_cs.db.migrate import upgrade

        settings = get_settings()
        db = Database(existing_database_url() if must_exist else database_url())
        upgrade(db)
        return db, SystemClock(settings.tz)

    @keys_app.command("create")
    def create_cmd(
        name: str = typer.Option(..., help="Who or what uses the key."),
        scope: str = typer.Option(..., help="admin, staff, partner, designer or metrics."),
        acc_id: list[str] = typer.Option(
            [], "--acc-id", help="Partner keys: shop accounts the key may see (repeatable)."
        ),
    ) -> None:
        """Create a key and print it once."""
        from ai_cs.auth.service import create_key

        db, clock = _db()
        try:
            with db.write() as session:
                key = create_key(
                    session, clock, name=name, scope=scope, acc_ids=list(acc_id) or None
                )
        except AicsError as exc:
            fail_domain(exc)
        typer.echo(key)

    @keys_app.command("list")
    def list_cmd(as_json: bool = typer.Option(False, "--json")) -> None:
        """List keys (never their secrets)."""
        from rich.table import Table

        from ai_cs.auth.service import list_keys

        db, _ = _db(must_exist=True)
        with db.read() as session:
            rows = list_keys(session)
        if as_json:
            typer.echo(json.dumps(rows, ensure_ascii=False))
            return
        table = Table(title="API keys")
        for col in KEY_COLUMNS:
            table.add_column(col)
        for r in rows:
            table.add_row(*(str(r[c] or "") for c in KEY_COLUMNS))
        console.print(table)

    @keys_app.command("revoke")
    def revoke_cmd(key_id: str) -> None:
        """Revoke a key by its id."""
        from ai_cs.auth.service import revoke_key

        db, clock = _db(must_exist=True)
        try:
            with db.write() as session:
                revoke_key(session, clock, key_id)
        except AicsError as exc:
            fail_domain(exc)
        console.print(f"key {key_id} revoked")

    app.add_typer(keys_app, name="keys")
