"""``aics tasks list|show|history``: look at tasks from the terminal."""

from __future__ import annotations

from typing import Any

import typer

from ai_cs.cli.common import console, existing_database_url, fail_domain, print_json
from ai_cs.core.money import yuan_fixed
from ai_cs.errors import AicsError


def _workflow() -> Any:
    """The workflow on the configured database, which must exist: these commands only read."""
    from ai_cs.workflow import Workflow

    return Workflow(database_url=existing_database_url())


def register(app: typer.Typer) -> None:
    """Add the ``tasks`` command group."""
    tasks_app = typer.Typer(help="Image tasks (图片任务).", no_args_is_help=True)

    @tasks_app.command("list")
    def list_cmd(
        status: str | None = typer.Option(None, help="Only tasks in this status."),
        customer: str | None = typer.Option(None, help="Only this customer's tasks."),
        limit: int = typer.Option(50, min=1, max=1000),
        as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
    ) -> None:
        """List tasks, newest first."""
        from rich.table import Table

        try:
            rows, count = _workflow().list_tasks(status=status, customer_id=customer, limit=limit)
        except AicsError as exc:
            fail_domain(exc)
        if as_json:
            print_json({"data": rows, "count": count})
            return
        table = Table(title=f"tasks ({count})")
        for col in ("task_id", "customer_id", "operation", "status", "price", "created_at"):
            table.add_column(col)
        for r in rows:
            price = yuan_fixed(r["price_fen"]) if r.get("price_fen") is not None else "-"
            table.add_row(
                r["task_id"],
                r["customer_id"] or "",
                r["operation"] or "",
                r["status"] or "",
                price,
                r["created_at"] or "",
            )
        console.print(table)

    @tasks_app.command("show")
    def show_cmd(
        task_id: str,
        as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
    ) -> None:
        """Show one task."""
        from rich.table import Table

        try:
            task = _workflow().get_task(task_id)
        except AicsError as exc:
            fail_domain(exc)
        if as_json:
            print_json(task)
            return
        table = Table(title=task_id, show_header=False)
        table.add_column("field")
        table.add_column("value")
        for key, value in task.items():
            table.add_row(key, "" if value is None else str(value))
        console.print(table)

    @tasks_app.command("history")
    def history_cmd(
        task_id: str,
        as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
    ) -> None:
        """Show a task's requirement changes, newest first."""
        from rich.table import Table

        try:
            rows = _workflow().get_task_requirement_history(task_id)
        except AicsError as exc:
            fail_domain(exc)
        if as_json:
            print_json(rows)
            return
        table = Table(title=f"history of {task_id}")
        for col in ("changed_at", "change_type", "old_value", "new_value", "changed_by"):
            table.add_column(col)
        for r in rows:
            table.add_row(
                *(
                    str(r[c] or "")
                    for c in ("changed_at", "change_type", "old_value", "new_value", "changed_by")
                )
            )
        console.print(table)

    app.add_typer(tasks_app, name="tasks")
