"""Helpers shared by CLI commands: settings, the database, error output."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console

from ai_cs.errors import AicsError

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line reason to stderr and exit with ``code`` (no traceback)."""
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def fail_domain(exc: AicsError) -> NoReturn:
    """Exit 2 with the domain error's code and message."""
    fail(f"{exc.code}: {exc.message}")


def print_json(data: Any) -> None:
    """One JSON document on stdout (UTF-8, not ASCII-escaped)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()
