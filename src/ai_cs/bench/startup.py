"""Start-up time of the ``aics`` command line, as a user at a terminal waits for it.

- ``cli_startup_help_ms``: wall time of ``aics --help`` as a subprocess, median of N runs;
  baseline ``python -c pass`` with the same interpreter. It is Python's own start-up, so the
  difference is what importing Typer, rich and the command modules and rendering the help cost.
- ``cli_startup_tasks_list_ms``: ``aics tasks list --json`` on a temporary SQLite database with a
  few tasks; baseline a bare ``python`` that opens the same file with ``sqlite3`` and prints the
  same rows as JSON, so the difference is what SQLAlchemy, the settings and the migrations check
  add to a short command.

ratio = ours ÷ baseline for both (lower is better; 1.0 would mean no cost over bare Python).
The two commands run interleaved, after one unmeasured warm-up each, so both see the same
machine load. Without a bytecode cache (``PYTHONDONTWRITEBYTECODE=1`` and no ``__pycache__``)
every run compiles every module from source, which roughly doubles the figures; the note says
which case was measured.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ai_cs.bench import BenchResult

TASKS = 20

_BARE_LIST = """
import json, sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.row_factory = sqlite3.Row
count = conn.execute("SELECT count(*) FROM image_tasks").fetchone()[0]
rows = conn.execute(
    "SELECT * FROM image_tasks ORDER BY created_at DESC, task_id DESC LIMIT 50"
).fetchall()
print(json.dumps({"data": [dict(r) for r in rows], "count": count}, default=str))
"""


def aics_command() -> list[str]:
    """The installed ``aics`` console script beside this interpreter, else ``python -m ai_cs``."""
    script = Path(sys.executable).with_name("aics")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "ai_cs"]


def _wall_ms(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, check=False, timeout=120)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.decode(errors='replace')}"
        )
    return elapsed


def _paired(
    ours: list[str], base: list[str], env: dict[str, str], cwd: Path, runs: int
) -> tuple[float, float]:
    """Median wall times (ms) of ``ours`` and ``base``, run alternately after a warm-up each."""
    _wall_ms(ours, env, cwd)
    _wall_ms(base, env, cwd)
    ours_ms, base_ms = [], []
    for _ in range(runs):
        ours_ms.append(_wall_ms(ours, env, cwd))
        base_ms.append(_wall_ms(base, env, cwd))
    return statistics.median(ours_ms), statistics.median(base_ms)


def _bytecode_note() -> str:
    import typer.main

    cached = importlib.util.cache_from_source(typer.main.__file__)
    if Path(cached).is_file():
        return "bytecode cached"
    return "no bytecode cache: every run compiles from source"


def _result(name: str, ours: float, base: float, note: str) -> BenchResult:
    return BenchResult(name, round(ours, 1), "ms", round(base, 1), round(ours / base, 2), note)


def _seed(path: Path) -> None:
    from ai_cs.config import Settings
    from ai_cs.workflow import Workflow

    wf = Workflow(database_url=f"sqlite:///{path}", settings=Settings(data_dir=path.parent))
    try:
        for i in range(TASKS):
            wf.create_image_task(f"bench_customer_{i % 4}", "https://xxx.com/a.jpg", "enhance")
    finally:
        wf.close()


def run(quick: bool) -> list[BenchResult]:
    """Time ``aics --help`` and ``aics tasks list`` against bare Python in the same run."""
    runs = 3 if quick else 11
    aics = aics_command()
    bytecode = _bytecode_note()
    with tempfile.TemporaryDirectory(prefix="aics-bench-startup-") as tmp:
        cwd = Path(tmp)
        db = cwd / "data" / "ai_cs.db"
        _seed(db)
        # Only this run's database, whatever the caller's environment or .env says.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AICS_")}
        env.update(AICS_DATA_DIR=str(db.parent), AICS_DATABASE_URL=f"sqlite:///{db}")
        help_ms, pass_ms = _paired(
            [*aics, "--help"], [sys.executable, "-c", "pass"], env, cwd, runs
        )
        list_ms, bare_ms = _paired(
            [*aics, "tasks", "list", "--json"],
            [sys.executable, "-c", _BARE_LIST, str(db)],
            env,
            cwd,
            runs,
        )
    how = f"median of {runs} subprocess runs, {bytecode}; lower is better"
    return [
        _result("cli_startup_help_ms", help_ms, pass_ms, f"baseline python -c pass; {how}"),
        _result(
            "cli_startup_tasks_list_ms",
            list_ms,
            bare_ms,
            f"{TASKS} tasks on SQLite; baseline bare sqlite3 + json; {how}",
        ),
    ]
