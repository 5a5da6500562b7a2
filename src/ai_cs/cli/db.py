"""``aics db upgrade``: apply the Alembic migrations to the configured database."""

from __future__ import annotations

import typer

from ai_cs.cli.common import console


def register(app: typer.Typer) -> None:
    """Add the ``db`` command group."""
    db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)

    @db_app.command("upgrade")
    def upgrade_cmd() -> None:
        """Apply migrations up to the newest revision (a no-op when already there)."""
        from ai_cs.config import get_settings
        from ai_cs.db.database import Database
        from ai_cs.db.migrate import upgrade

        settings = get_settings()
        db = Database(settings.resolved_database_url)
        before, after = upgrade(db)
        # soft_wrap: one line each, however narrow the terminal (the revision list is long).
        if before == after:
            console.print(f"database already at revision {after}; nothing to do", soft_wrap=True)
        elif not before:
            console.print(f"database created (revision {after})", soft_wrap=True)
        else:
            console.print(f"database upgraded from {before} to {after}", soft_wrap=True)
        db.dispose()

    app.add_typer(db_app, name="db")
