"""``aics tasks list|show|history``: look at tasks from the terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import typer

from ai_cs.cli.common import console, existing_database_url, fail_domain, print_json
from ai_cs.core.money import yuan_fixed
from ai_cs.errors import AicsError

T = TypeVar("T")

HISTORY_COLUMNS = ("changed_at", "change_type", "old_value", "new_value", "changed_by")


def _read(query: Callable[[Any], T]) -> T:
    """``query`` on the workflow of the configured database, which must exist.

    These commands only read; a domain error ends the command with its code.
    """
    from ai_cs.workflow import Workflow

    try:
        return query(Workflow(database_url=existing_database_url()))
    except AicsError as exc:
        fail_domain(exc)


def _answer(
    data: object,
    as_json: bool,
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    header: bool = True,
) -> None:
    """``data`` as JSON for scripts (``--json``), else ``rows`` as a table."""
    from rich.table import Table

    if as_json:
        print_json(data)
        return
    table = Table(title=title, show_header=header)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def register(app: typer.Typer) -> None:
    """Add the ``tasks`` command group."""
    tasks_app = typer.Typer(help="Image tasks (图片任务).", no_args_is_help=True)
    as_json_option = typer.Option(False, "--json", help="Print JSON for scripts.")

    @tasks_app.command("list")
    def list_cmd(
        status: str | None = typer.Option(None, help="Only tasks in this status."),
        customer: str | None = typer.Option(None, help="Only this customer's tasks."),
        limit: int = typer.Option(50, min=1, max=1000),
        as_json: bool = as_json_option,
    ) -> None:
        """List tasks, newest first."""
        rows, count = _read(
            lambda wf: wf.list_tasks(status=status, customer_id=customer, limit=limit)
        )
        _answer(
            {"data": rows, "count": count},
            as_json,
            f"tasks ({count})",
            ("task_id", "customer_id", "operation", "status", "price", "created_at"),
            (
                (
                    r["task_id"],
                    _text(r["customer_id"]),
                    _text(r["operation"]),
                    _text(r["status"]),
                    yuan_fixed(r["price_fen"]) if r.get("price_fen") is not None else "-",
                    _text(r["created_at"]),
                )
                for r in rows
            ),
        )

    @tasks_app.command("show")
    def show_cmd(task_id: str, as_json: bool = as_json_option) -> None:
        """Show one task."""
        task = _read(lambda wf: wf.get_task(task_id))
        rows = ((key, _text(value)) for key, value in task.items())
        _answer(task, as_json, task_id, ("field", "value"), rows, header=False)

    @tasks_app.command("history")
    def history_cmd(task_id: str, as_json: bool = as_json_option) -> None:
        """Show a task's requirement changes, newest first."""
        changes = _read(lambda wf: wf.get_task_requirement_history(task_id))
        rows = ([_text(c[name]) for name in HISTORY_COLUMNS] for c in changes)
        _answer(changes, as_json, f"history of {task_id}", HISTORY_COLUMNS, rows)

    app.add_typer(tasks_app, name="tasks")
