"""CPU-time ratios of the workflow round and the embedded queue against bare sqlite3.

``time.process_time()`` of the same functions ``aics bench --only workflow|queue`` runs, best of
three, so time the process spends waiting for a core another program holds does not count: on a
shared, loaded machine this compares code paths where the wall-clock ratios swing. Prints one
JSON line; ratio = bare CPU time ÷ ours (higher is better). To compare with another commit, run
it again with ``PYTHONPATH=<a worktree of that commit>/src``.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ai_cs
from ai_cs.bench.queue import _bare_sqlite, _embedded
from ai_cs.bench.workflow import _bare_rounds, _workflow_rounds
from ai_cs.db.database import Database
from ai_cs.db.migrate import upgrade


def cpu(fn: Callable[..., Any], *args: Any) -> float:
    start = time.process_time()
    fn(*args)
    return time.process_time() - start


def main() -> None:
    out: dict[str, object] = {"tree": ai_cs.__file__.split("/src/")[0]}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        _workflow_rounds(tmp / "warm.db", 20)
        ours = min(cpu(_workflow_rounds, tmp / f"w{i}.db", 300) for i in range(3))
        bare = min(cpu(_bare_rounds, tmp / f"b{i}.db", 300) for i in range(3))
        out["workflow_cpu_ratio"] = round(bare / ours, 3)
        queue_ours, queue_bare = [], []
        for i in range(3):
            db = Database(f"sqlite:///{tmp / f'q{i}.db'}")
            upgrade(db)
            queue_ours.append(cpu(_embedded, db, 1000))
            db.dispose()
            db = Database(f"sqlite:///{tmp / f'qb{i}.db'}")
            upgrade(db)
            db.dispose()
            queue_bare.append(cpu(_bare_sqlite, tmp / f"qb{i}.db", 1000))
        out["queue_cpu_ratio"] = round(min(queue_bare) / min(queue_ours), 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
