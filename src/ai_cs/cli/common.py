"""Helpers shared by CLI commands: settings, the database, error output.

Nothing heavy is imported here at module level (every command module imports this one, and
``aics --help`` must not pay for SQLAlchemy or pydantic): the database helpers import what they
need when they run, and :func:`known_errors` only names classes of modules already loaded.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from ai_cs.errors import AicsError

if TYPE_CHECKING:
    import socket

console = Console()
err_console = Console(stderr=True)

EXIT_MISTAKE = 2
"""Exit code of a refused command: bad input or settings, or a database that cannot be used."""

PG_DEFAULT_PORT = 5432


def print_error(message: str) -> None:
    """One ``error: ...`` line on stderr; ``message`` is shown as is (never read as markup)."""
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = EXIT_MISTAKE) -> NoReturn:
    """Print a one-line reason to stderr and exit with ``code`` (no traceback)."""
    print_error(message)
    raise typer.Exit(code)


def fail_domain(exc: AicsError) -> NoReturn:
    """Exit 2 with the domain error's code and message."""
    fail(f"{exc.code}: {exc.message}")


def print_json(data: Any) -> None:
    """One JSON document on stdout (UTF-8, not ASCII-escaped)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------------------- network


def bound_socket(host: str, port: int, *, in_use_hint: str) -> socket.socket:
    """A listening socket for uvicorn (``Server.run(sockets=[...])``), or exit 2 with one line."""
    from ai_cs.web.listen import listen

    try:
        return listen(host, port, in_use_hint=in_use_hint)
    except AicsError as exc:
        fail(exc.message)


# ---------------------------------------------------------------------------------- database


def database_url() -> str:
    """The configured database URL, refused (exit 2, one line) when ai-cs cannot use it."""
    from ai_cs.config import get_settings
    from ai_cs.db.database import check_url

    url = get_settings().resolved_database_url
    try:
        check_url(url)
    except AicsError as exc:
        fail_domain(exc)
    return url


def existing_database_url() -> str:
    """The configured database URL, for commands that only read.

    A SQLite file that does not exist is refused instead of created: an empty new database
    (usually from a wrong working directory or ``AICS_DATA_DIR``) would answer "no tasks" for a
    shop that has some.
    """
    from sqlalchemy.engine import make_url

    url = database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database).absolute()
        if not path.is_file():
            fail(f"no database at {path}; run `aics db upgrade` or `make run` first")
    return url


# ---------------------------------------------------------------------------------- errors


def known_errors() -> tuple[type[BaseException], ...]:
    """The exception classes :func:`explain` may turn into one line.

    Only classes of modules already imported are named: an error of a library that was never
    loaded cannot have been raised, and naming it would import it into every ``aics`` run.
    """
    kinds: list[type[BaseException]] = [AicsError, OSError]
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None:
        kinds += [sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.ArgumentError]
    pydantic_core = sys.modules.get("pydantic_core")
    if pydantic_core is not None:
        kinds.append(pydantic_core.ValidationError)
    pydantic_settings = sys.modules.get("pydantic_settings")
    if pydantic_settings is not None:
        kinds.append(pydantic_settings.SettingsError)
    return tuple(kinds)


def explain(exc: BaseException) -> str | None:
    """One line with a hint for a mistake ``exc`` stands for, or ``None`` when it is a bug.

    A ``None`` keeps the traceback: an error nobody anticipated should be seen in full.
    """
    if isinstance(exc, AicsError):
        return f"{exc.code}: {exc.message}"
    if isinstance(exc, OSError):
        # With a file name it is a path in the settings (data directory, SQLite file) that
        # cannot be made or opened; without one it may be anything, so the traceback stays.
        if not exc.filename:
            return None
        return (
            f"{exc.strerror or exc}: {exc.filename}; "
            "check AICS_DATA_DIR / AICS_DATABASE_URL and the folder's permissions"
        )
    pydantic_core = sys.modules.get("pydantic_core")
    if pydantic_core is not None and isinstance(exc, pydantic_core.ValidationError):
        return _explain_settings(exc) if exc.title == "Settings" else None
    pydantic_settings = sys.modules.get("pydantic_settings")
    if pydantic_settings is not None and isinstance(exc, pydantic_settings.SettingsError):
        # A complex setting (JSON, e.g. AICS_PRICES) does not parse.
        m = re.search(r'field "(\w+)"', str(exc))
        field = f"AICS_{m.group(1).upper()}" if m else "a setting"
        cause = f": {_first_line(str(exc.__cause__))}" if exc.__cause__ else ""
        return f"invalid setting {field}{cause} — fix the environment or .env"
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is None:
        return None
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
        return _explain_database(exc)
    if isinstance(exc, sa_exc.ArgumentError):
        from ai_cs.db.database import SUPPORTED_URLS

        text = _first_line(str(exc))
        if isinstance(exc, sa_exc.NoSuchModuleError) or "URL" in text:
            return f"database_url_invalid: {text}; use {SUPPORTED_URLS}"
    return None


def _first_line(text: str) -> str:
    return " ".join(text.strip().splitlines()[0].split()) if text.strip() else ""


def _explain_settings(exc: Any) -> str:
    parts = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error.get("loc") else "?"
        shown = error.get("input")
        value = f" (got {shown!r})" if isinstance(shown, str | int | float) else ""
        parts.append(f"AICS_{field.upper()}: {error['msg']}{value}")
    return "invalid setting " + "; ".join(parts) + " — fix the environment or .env"


_PG_AT = re.compile(r'connection to server at "([^"]+)"(?: \([^)]*\))?, port (\d+) failed: (.*)')
_PG_SOCKET = re.compile(r'connection to server on socket "([^"]+)" failed: (.*)')
_PG_RESOLVE = re.compile(r"failed to resolve host '([^']+)'")


def _configured_url() -> str | None:
    config = sys.modules.get("ai_cs.config")
    if config is None:
        return None
    try:
        return str(config.get_settings().resolved_database_url)
    except ValueError:  # the settings themselves are invalid (pydantic's ValidationError)
        return None


def _explain_database(exc: BaseException) -> str:
    """Where the database is (host and port, or the SQLite file), what it said, and a hint."""
    orig = getattr(exc, "orig", None)
    message = str(orig if orig is not None else exc)
    url = _configured_url()
    if url is not None and url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        path = make_url(url).database or ":memory:"
        reason = _first_line(message)
        hint = "check that its directory exists and is writable"
        if "locked" in reason:
            hint = "another process holds a long write lock; retry, or stop it"
        return f"database_unavailable: SQLite {path}: {reason}; {hint}"

    where, reason = _pg_where(message, url)
    reason = re.sub(r"^(FATAL|ERROR):\s+", "", reason or _first_line(message))
    lowered = reason.lower()
    if any(w in lowered for w in ("does not exist", "authentication", "password", "permission")):
        hint = "check the user, password and database name in AICS_DATABASE_URL"
        return f"database_unavailable: the database at {where} refused the login: {reason}; {hint}"
    hint = "is PostgreSQL running there, and is AICS_DATABASE_URL right?"
    if "resolve host" in lowered:
        hint = "check the host name in AICS_DATABASE_URL"
    return f"database_unavailable: cannot reach the database at {where} ({reason}); {hint}"


def _pg_where(message: str, url: str | None) -> tuple[str, str]:
    """``(host:port or socket, reason)`` from psycopg's message, else the configured URL's.

    psycopg names the address it tried; the first line naming one is the first attempt (later
    lines repeat it for each address a host name resolved to).
    """
    for line in message.splitlines():
        if m := _PG_AT.search(line):
            return f"{m.group(1)}:{m.group(2)}", m.group(3).strip()
        if m := _PG_SOCKET.search(line):
            return m.group(1), m.group(2).strip()
        if m := _PG_RESOLVE.search(line):
            return f"{m.group(1)}:{_url_port(url)}", f"cannot resolve host {m.group(1)!r}"
    if url is None:
        return "the configured address", ""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return f"{parsed.host or 'localhost'}:{parsed.port or PG_DEFAULT_PORT}", ""


def _url_port(url: str | None) -> int:
    if url is None:
        return PG_DEFAULT_PORT
    from sqlalchemy.engine import make_url

    return make_url(url).port or PG_DEFAULT_PORT
