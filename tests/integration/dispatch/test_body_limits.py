"""Every server refuses an unauthenticated body before reading it, and never holds a huge one.

Both servers run in child processes; their peak resident set size (``VmHWM``) is read before and
after the attack, so "the server did not take the body in" is measured, not assumed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ai_cs.auth.service import create_key
from ai_cs.clock import SystemClock
from ai_cs.config import Settings
from ai_cs.db.database import Database
from ai_cs.db.migrate import upgrade

SERVER = textwrap.dedent(
    """
    import sys, uvicorn
    from pathlib import Path
    from ai_cs.config import Settings
    from ai_cs.db.database import Database
    from ai_cs.db.migrate import upgrade
    data = Path(sys.argv[1])
    settings = Settings(data_dir=data, _env_file=None)
    if sys.argv[3] == "dispatch":
        from ai_cs.dispatch.app import create_dispatch_app
        from ai_cs.dispatch.options import DispatchOptions
        db = Database(settings.resolved_database_url)
        upgrade(db)
        app = create_dispatch_app(settings, db=db, options=DispatchOptions(background=False))
    else:
        from ai_cs.api import create_app
        app = create_app(settings)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
    """
)
HUGE = 300 * 1024 * 1024
ALLOWED_GROWTH_MB = 8


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):  # peak resident set size
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def _designer_key(data: Path) -> str:
    """A designer key in the database the child server will open."""
    settings = Settings(data_dir=data, _env_file=None)  # type: ignore[call-arg]
    data.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    try:
        upgrade(db)
        with db.write() as session:
            return create_key(session, SystemClock(settings.tz), name="王", scope="designer")
    finally:
        db.dispose()


def _chunks(total: int = HUGE) -> Iterator[bytes]:
    block = b" " * (1024 * 1024)  # whitespace: valid JSON padding and harmless multipart preamble
    for _ in range(total // len(block)):
        yield block


CASES = {
    "dispatch": [
        ("/api/v1/jobs", "application/json"),
        ("/api/v1/jobs", "multipart/form-data; boundary=x"),
        ("/api/v1/jobs", "text/plain"),
        ("/api/v1/jobs/JOB_1/finish", "multipart/form-data; boundary=x"),
    ],
    "api": [
        ("/api/v1/library/search", "multipart/form-data; boundary=x"),
        ("/api/v1/tasks/TASK_1/requirements", "multipart/form-data; boundary=x"),
        ("/api/v1/tasks/TASK_1/requirements", "application/json"),
        ("/console/assist", "multipart/form-data; boundary=x"),  # login cookie, not a key
    ],
}


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
@pytest.mark.parametrize("which", ["dispatch", "api"])
def test_an_unauthenticated_huge_body_is_refused_before_it_is_read(
    tmp_path: Path, which: str
) -> None:
    port = _free_port()
    designer_key = _designer_key(tmp_path / "data")
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(tmp_path / "data"), str(port), which],
        env={k: v for k, v in os.environ.items() if not k.startswith("AICS_")},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        for path, content_type in CASES[which]:  # warm the routes: first-use imports count too
            httpx.post(f"{base}{path}", content=b"{}", headers={"Content-Type": content_type})
        before = _peak_rss_kb(server.pid)
        for path, content_type in CASES[which]:
            for declared in (False, True):
                headers = {"Content-Type": content_type}
                if declared:  # a declared length over every limit: 413 from the header alone
                    headers["Content-Length"] = str(HUGE)
                started = time.monotonic()
                try:
                    answer = httpx.post(
                        f"{base}{path}", content=_chunks(), headers=headers, timeout=60
                    )
                except httpx.HTTPError:
                    answer = None  # the server hung up while we were still sending
                if answer is not None and path.startswith("/console/") and not declared:
                    assert answer.status_code == 303, answer.text  # to the login page
                    assert answer.headers["location"].startswith("/console/login")
                elif answer is not None:
                    assert answer.status_code in (401, 413), (path, content_type, answer.text)
                    assert answer.json()["error"]["code"] in ("unauthorized", "payload_too_large")
                grown_mb = (_peak_rss_kb(server.pid) - before) / 1024
                assert grown_mb < ALLOWED_GROWTH_MB, (
                    f"{which} {path} {content_type} declared={declared}: "
                    f"the server grew by {grown_mb:.0f} MB"
                )
                assert time.monotonic() - started < 30
        if which == "dispatch":
            _legitimate_upload_is_streamed_to_disk(base, server.pid, designer_key)
    finally:
        server.terminate()
        server.wait(timeout=20)


def _legitimate_upload_is_streamed_to_disk(base: str, pid: int, key: str) -> None:
    """A designer's 50 MB result is spooled to disk while the form is read, not held."""
    size = 50 * 1024 * 1024

    def body() -> Iterator[bytes]:
        yield (
            b'--b\r\nContent-Disposition: form-data; name="designer"\r\n\r\nwang\r\n'
            b'--b\r\nContent-Disposition: form-data; name="result"; filename="r.png"\r\n'
            b"Content-Type: image/png\r\n\r\n"
        )
        yield from _chunks(size)
        yield b"\r\n--b--\r\n"

    before = _peak_rss_kb(pid)
    answer = httpx.post(
        f"{base}/api/v1/jobs/JOB_NONE/finish",
        content=body(),
        headers={
            "Content-Type": "multipart/form-data; boundary=b",
            "Authorization": f"Bearer {key}",
        },
        timeout=120,
    )
    # The whole form was read (the job is looked up after it), and the file never sat in memory.
    assert answer.status_code == 404, answer.text
    grown_mb = (_peak_rss_kb(pid) - before) / 1024
    assert grown_mb < ALLOWED_GROWTH_MB, f"a 50 MB upload grew the server by {grown_mb:.0f} MB"
