"""Start-up of the ``aics`` command line: ``--help`` loads no heavy library.

Timing ``aics --help`` in a test would be flaky on shared machines; what makes it slow is known
and checkable instead: which libraries a fresh interpreter has imported once the app is built
and the help printed. ``aics bench --only startup`` measures the time itself.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import ai_cs

HEAVY = (
    "sqlalchemy",
    "alembic",
    "psycopg",
    "PIL",
    "numpy",
    "cv2",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "pydantic_settings",
    "pydantic_ai",
    "onnxruntime",
    "rapidocr",
    "procrastinate",
    "ai_cs.config",
    "ai_cs.db",
    "ai_cs.workflow",
)
"""Libraries (and our modules that import them) no ``--help`` may load."""

TYPER_LOADS_PYDANTIC = ("pydantic", "pydantic_core")
"""Typer (0.29) coerces the root's unset ``--help`` through a pydantic ``TypeAdapter`` whenever a
sub-command is named, so ``aics tasks --help`` loads pydantic; ``aics --help`` must not."""

_PROBE = """
import json, sys
argv = json.loads(sys.argv[1])
from ai_cs import cli
code = 0
if argv is None:
    cli.build_app()
else:
    sys.argv = ["aics", *argv]
    try:
        cli.main()
    except SystemExit as exc:
        code = exc.code or 0
sys.stderr.write("\\nMODULES " + json.dumps({"code": code, "modules": sorted(sys.modules)}) + "\\n")
"""


def _modules_after(argv: list[str] | None) -> tuple[int, set[str], str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(argv)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stderr.rsplit("MODULES ", 1)[1])
    return report["code"], set(report["modules"]), done.stdout


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY)


def test_building_the_app_imports_no_heavy_library() -> None:
    code, modules, _ = _modules_after(None)

    assert code == 0
    assert "ai_cs.cli.tasks" in modules  # the command modules really were imported
    assert _heavy(modules) == []
    assert not modules & set(TYPER_LOADS_PYDANTIC)


def test_top_level_help_imports_no_heavy_library() -> None:
    code, modules, stdout = _modules_after(["--help"])

    assert code == 0
    assert "Usage: aics" in stdout and "tasks" in stdout
    assert _heavy(modules) == []
    assert not modules & set(TYPER_LOADS_PYDANTIC)


@pytest.mark.parametrize(
    "argv",
    [["tasks", "--help"], ["tasks", "list", "--help"], ["keys", "--help"], ["worker", "--help"]],
)
def test_sub_command_help_imports_no_heavy_library(argv: list[str]) -> None:
    code, modules, stdout = _modules_after(argv)

    assert code == 0
    assert "Usage: aics" in stdout
    assert _heavy(modules) == []


def test_version_prints_the_package_version() -> None:
    from importlib.metadata import version

    code, modules, stdout = _modules_after(["--version"])

    assert code == 0
    assert stdout == f"aics {ai_cs.__version__}\n"
    assert ai_cs.__version__ == version("ai-cs") == "0.1.0"
    assert _heavy(modules) == []
    assert not modules & set(TYPER_LOADS_PYDANTIC)


def test_help_does_not_load_asyncio() -> None:
    _, modules, _ = _modules_after(["--help"])

    assert "asyncio" not in modules
