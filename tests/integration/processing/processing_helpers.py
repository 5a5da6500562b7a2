"""Helpers for the processing tests of both queues: a paid task, a worker killed mid-job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ai_cs.errors import ProcessingFailed
from ai_cs.workflow import Workflow


def paid_task(wf: Workflow, source: Path | str, operation: str = "remove_bg") -> str:
    """A task for ``source`` that the customer has paid for (its job is queued); its id."""
    task = wf.create_image_task("c1", str(source), operation)
    wf.trigger_processing_on_payment(
        "c1", task_id=task["task_id"], payment_id=f"P-{task['task_id']}"
    )
    return task["task_id"]


class FailingEngine:
    """An engine runner that fails its first ``failures`` calls, then returns the picture as is.

    Every call's operation is kept in ``calls``.
    """

    def __init__(self, message: str, failures: int | None = None) -> None:
        self.message = message
        self.failures = failures  # None: every call fails
        self.calls: list[str] = []

    def __call__(self, operation: str, data: bytes) -> tuple[bytes, str]:
        self.calls.append(operation)
        if self.failures is None or len(self.calls) <= self.failures:
            raise ProcessingFailed(self.message)
        return data, ".png"


@contextmanager
def worker_in_its_engine(script: str, tmp_path: Path, *args: str) -> Iterator[None]:
    """Run ``script`` with ``args`` in a child Python until its engine prints ``ENGINE STARTED``.

    The block runs while the child is inside the engine; leaving it kills the child with
    SIGKILL, as a crash would, and the child is reaped whatever happens.
    """
    path = tmp_path / "crashy.py"
    path.write_text(script)
    proc = subprocess.Popen(
        [sys.executable, str(path), *args],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        assert proc.stdout is not None
        assert "ENGINE STARTED" in proc.stdout.readline()
        yield
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
