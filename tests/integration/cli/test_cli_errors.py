"""Mistakes get one clear line with a hint and exit code 2, never a traceback (issue 12).

One case of each kind runs the installed ``aics`` console script as a user would (a subprocess
with its own environment); the long-running commands run ``ai_cs.cli.main`` the same way with
their wait for the database cut from 120 s to 1 s. Variants of a kind already covered run in
this process through Typer's ``CliRunner`` (a subprocess costs seconds here), and the last tests
check the messages for psycopg's error texts directly, without a database.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from ai_cs.cli import build_app
from ai_cs.cli.common import explain
from ai_cs.config import Settings, get_settings

AICS = Path(sys.executable).with_name("aics")
HINT_SCHEMES = "use sqlite:///PATH or postgresql+psycopg://user@host:port/db"
NO_DATABASE = "no database at {}; run `aics db upgrade` or `make run` first"

_SHORT_WAIT = """
import sys
from ai_cs import runtime
runtime.when_database_answers.__kwdefaults__["wait_seconds"] = 1.0
runtime.Runtime.start.__func__.__kwdefaults__["wait_seconds"] = 1.0
from ai_cs.cli import main
sys.argv = ["aics", *sys.argv[1:]]
main()
"""


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The caller's environment without any AICS_ setting, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICS_")}
    env["AICS_DATA_DIR"] = str(tmp_path / "data")
    env.update(settings)
    return env


def _aics(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AICS), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=90
    )


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The single ``error:`` line on stderr (other lines may be log lines of the retries)."""
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, done.stderr
    return errors[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (a connection is refused at once)."""
    return _free_port()


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


# ------------------------------------------------------------------------- database URL


def test_an_unknown_database_scheme_is_one_line(tmp_path: Path) -> None:
    env = _env(tmp_path, AICS_DATABASE_URL="sqlit:///x.db")

    done = _aics(["tasks", "list"], env, tmp_path)

    assert done.returncode == 2
    assert _one_error_line(done) == (
        f"error: database_url_invalid: database URL scheme 'sqlit' is not supported; {HINT_SCHEMES}"
    )
    assert done.stdout == ""
    assert not (tmp_path / "x.db").exists()


def test_a_postgres_url_is_pointed_at_psycopg(tmp_path: Path) -> None:
    env = _env(tmp_path, AICS_DATABASE_URL="postgres://u@h/db")

    done = _aics(["db", "upgrade"], env, tmp_path)

    assert done.returncode == 2
    assert _one_error_line(done) == (
        "error: database_url_invalid: database URL scheme 'postgres' is not supported; "
        "PostgreSQL URLs start with postgresql+psycopg:// (psycopg 3), "
        "e.g. postgresql+psycopg://u@h/db"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql+psycopg2://u:secret@h/db",
            "database URL scheme 'postgresql+psycopg2' is not supported; PostgreSQL URLs start "
            "with postgresql+psycopg:// (psycopg 3), e.g. postgresql+psycopg://u:***@h/db",
        ),
        ("sqlite+aiosqlite:///x.db", "database URL scheme 'sqlite+aiosqlite' is not supported"),
        ("mysql://u@h/db", f"database URL scheme 'mysql' is not supported; {HINT_SCHEMES}"),
        ("not a url", f"cannot read 'not a url' as a database URL; {HINT_SCHEMES}"),
        ("u:secret@h/db", f"cannot read it as a database URL; {HINT_SCHEMES}"),
    ],
)
def test_other_unusable_urls(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, url: str, expected: str
) -> None:
    monkeypatch.setenv("AICS_DATABASE_URL", url)

    result = runner.invoke(build_app(), ["tasks", "list"])

    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: database_url_invalid: {expected}")
    assert "secret" not in result.stderr


# ------------------------------------------------------------------------- unreachable


@pytest.mark.parametrize(
    "args",
    [["tasks", "list"], ["db", "upgrade"], ["keys", "create", "--name", "a", "--scope", "admin"]],
)
def test_short_commands_fail_at_once_when_the_database_is_unreachable(
    tmp_path: Path, closed_port: int, args: list[str]
) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port}/test"

    done = _aics(args, _env(tmp_path, AICS_DATABASE_URL=url), tmp_path)

    assert done.returncode == 2
    assert _one_error_line(done) == (
        f"error: database_unavailable: cannot reach the database at 127.0.0.1:{closed_port} "
        "(Connection refused); is PostgreSQL running there, and is AICS_DATABASE_URL right?"
    )
    assert "retrying" not in done.stderr


def test_long_running_commands_give_up_with_one_line(tmp_path: Path, closed_port: int) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port}/test"
    env = _env(
        tmp_path,
        AICS_DATABASE_URL=url,
        AICS_API_PORT=str(_free_port()),
        AICS_DISPATCH_PORT=str(_free_port()),
    )
    commands = {
        "worker": ["worker"],
        "dispatch": ["dispatch", "--port", "0"],
        "gateway": ["gateway", "--url", f"ws://127.0.0.1:{_free_port()}/ws"],
        "serve": ["serve"],
    }
    # In parallel: each first waits out its (shortened) time for the database.
    running = {
        name: subprocess.Popen(
            [sys.executable, "-c", _SHORT_WAIT, *args],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, args in commands.items()
    }
    try:
        for name, proc in running.items():
            out, err = proc.communicate(timeout=120)
            done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
            assert done.returncode == 2, (name, err)
            line = _one_error_line(done)
            assert f"cannot reach the database at 127.0.0.1:{closed_port}" in line, (name, err)
    finally:
        for proc in running.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


# ------------------------------------------------------------------------- missing SQLite


def test_a_read_only_command_does_not_create_a_database(tmp_path: Path) -> None:
    done = _aics(["tasks", "list"], _env(tmp_path), tmp_path)

    expected = tmp_path / "data" / "ai_cs.db"
    assert done.returncode == 2
    assert _one_error_line(done) == f"error: {NO_DATABASE.format(expected)}"
    assert not expected.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["tasks", "show", "T1"],
        ["tasks", "history", "T1"],
        ["keys", "list"],
        ["keys", "revoke", "k1"],
        ["library", "search", "logo"],
    ],
)
def test_other_read_only_commands_do_not_create_one_either(
    runner: CliRunner, tmp_path: Path, args: list[str]
) -> None:
    result = runner.invoke(build_app(), args)

    expected = tmp_path / "data" / "ai_cs.db"
    assert result.exit_code == 2
    assert result.stderr == f"error: {NO_DATABASE.format(expected)}\n"
    assert not expected.exists()


def test_a_relative_sqlite_path_is_named_absolutely(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AICS_DATABASE_URL", "sqlite:///shop/ai_cs.db")

    result = runner.invoke(build_app(), ["tasks", "list"])

    assert result.exit_code == 2
    assert result.stderr == f"error: {NO_DATABASE.format(tmp_path / 'shop' / 'ai_cs.db')}\n"


def test_tasks_list_works_once_the_database_exists(runner: CliRunner) -> None:
    app = build_app()

    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["tasks", "list", "--json"])

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == '{"data": [], "count": 0}'


# ------------------------------------------------------------------------- other mistakes


def test_dispatch_on_a_taken_port_says_so(tmp_path: Path, taken_port: int) -> None:
    done = _aics(["dispatch", "--port", str(taken_port)], _env(tmp_path), tmp_path)

    assert done.returncode == 2
    assert _one_error_line(done) == (
        f"error: port {taken_port} on 127.0.0.1 is already in use — is aics serve already running?"
    )


def test_an_invalid_setting_is_one_line(tmp_path: Path) -> None:
    done = _aics(["tasks", "list"], _env(tmp_path, AICS_API_PORT="abc"), tmp_path)

    assert done.returncode == 2
    line = _one_error_line(done)
    assert line.startswith("error: invalid setting AICS_API_PORT: Input should be a valid integer")
    assert "(got 'abc')" in line


def test_an_unparsable_json_setting_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic_settings import SettingsError

    monkeypatch.setenv("AICS_PRICES", "{bad")
    with pytest.raises(SettingsError) as raised:
        Settings(_env_file=None)

    line = explain(raised.value)
    assert line is not None
    assert line.startswith("invalid setting AICS_PRICES: Expecting property name")


def test_a_data_dir_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    env = _env(tmp_path, AICS_DATA_DIR=str(blocker / "data"))

    done = _aics(["db", "upgrade"], env, tmp_path)

    assert done.returncode == 2
    line = _one_error_line(done)
    assert str(blocker) in line and "check AICS_DATA_DIR / AICS_DATABASE_URL" in line


def test_version(tmp_path: Path) -> None:
    done = _aics(["--version"], _env(tmp_path), tmp_path)

    assert done.returncode == 0
    assert done.stdout == "aics 0.1.0\n"


# ------------------------------------------------------------------------- message texts


class _Psycopg(Exception):
    """Stands for ``psycopg.OperationalError``: only its text matters."""


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            'connection failed: connection to server at "127.0.0.1", port 1 failed: '
            "Connection refused\n\tIs the server running on that host and accepting TCP/IP "
            "connections?\nMultiple connection attempts failed. All failures:\n"
            "- host: 'localhost', port: '1', hostaddr: '::1': connection failed: "
            'connection to server at "::1", port 1 failed: Connection refused',
            "cannot reach the database at 127.0.0.1:1 (Connection refused); is PostgreSQL "
            "running there, and is AICS_DATABASE_URL right?",
        ),
        (
            'connection failed: connection to server at "127.0.0.1", port 5432 failed: '
            'FATAL:  database "nosuchdb" does not exist',
            'the database at 127.0.0.1:5432 refused the login: database "nosuchdb" does not '
            "exist; check the user, password and database name in AICS_DATABASE_URL",
        ),
        (
            'connection failed: connection to server at "10.0.0.5", port 6432 failed: FATAL:  '
            'password authentication failed for user "shop"',
            "the database at 10.0.0.5:6432 refused the login: password authentication failed "
            'for user "shop"; check the user, password and database name in AICS_DATABASE_URL',
        ),
        (
            "failed to resolve host 'db.example': [Errno -2] Name or service not known",
            "cannot reach the database at db.example:5432 (cannot resolve host 'db.example'); "
            "check the host name in AICS_DATABASE_URL",
        ),
        (
            'connection is bad: connection to server on socket "/run/postgresql/.s.PGSQL.5432" '
            "failed: No such file or directory",
            "cannot reach the database at /run/postgresql/.s.PGSQL.5432 (No such file or "
            "directory); is PostgreSQL running there, and is AICS_DATABASE_URL right?",
        ),
    ],
)
def test_postgres_messages_name_the_address_and_a_hint(
    monkeypatch: pytest.MonkeyPatch, message: str, expected: str
) -> None:

    monkeypatch.setenv("AICS_DATABASE_URL", "postgresql+psycopg://shop@db.example/shop")
    get_settings.cache_clear()
    try:
        error = OperationalError("SELECT 1", None, _Psycopg(message))
        assert explain(error) == f"database_unavailable: {expected}"
    finally:
        get_settings.cache_clear()


def test_an_unexpected_error_keeps_its_traceback() -> None:
    assert explain(RuntimeError("a bug")) is None
    assert explain(OSError("no file name")) is None
