"""``aics demo`` as a user runs it: a subprocess on a fresh temporary database, offline."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.mark.slow
def test_aics_demo_passes_every_step_within_a_minute(tmp_path: Path) -> None:
    # No AICS_ settings leak in: the demo must not need any (and must not touch a real data dir).
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICS_")}
    env["AICS_DATA_DIR"] = str(tmp_path / "must-stay-empty")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "ai_cs", "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert elapsed < 60, f"the demo took {elapsed:.0f} s"
    assert " 0 failed" in done.stdout and "✗" not in done.stdout
    for step in ("1. ", "2. ", "3. ", "4. ", "5. ", "6. "):
        assert step in done.stdout
    assert not (tmp_path / "must-stay-empty").exists()
