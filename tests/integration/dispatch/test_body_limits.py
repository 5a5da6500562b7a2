"""Every server refuses an oversized body early (413), before authentication, without holding it."""

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

SERVER = textwrap.dedent(
    """
    import sys, uvicorn
    from pathlib import Path
    from ai_cs.config import Settings
    from ai_cs.db.database import Database
    from ai_cs.db.migrate import upgrade
    from ai_cs.dispatch.app import create_dispatch_app
    from ai_cs.dispatch.options import DispatchOptions
    data = Path(sys.argv[1])
    settings = Settings(data_dir=data, _env_file=None)
    db = Database(settings.resolved_database_url)
    upgrade(db)
    app = create_dispatch_app(settings, db=db, options=DispatchOptions(background=False))
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
    """
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):  # peak resident set size
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_an_unauthenticated_huge_body_is_refused_before_it_is_read(tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(tmp_path / "data"), str(port)],
        env={k: v for k, v in os.environ.items() if not k.startswith("AICS_")},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/api/v1/jobs", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        before = _rss_kb(server.pid)

        def chunks(total: int = 300 * 1024 * 1024) -> Iterator[bytes]:
            block = b" " * (1024 * 1024)  # 300 MB of whitespace: valid JSON padding, no key
            for _ in range(total // len(block)):
                yield block

        # JSON is refused past 1 MB; a multipart upload past the largest result a designer may
        # deliver (64 MB + form overhead). Neither is held whole, whatever the body's size.
        for content_type, allowed_mb in (
            ("application/json", 20),
            ("multipart/form-data; boundary=x", 64 + 30),
        ):
            try:
                answer = httpx.post(
                    f"{base}/api/v1/jobs",
                    content=chunks(),
                    headers={"Content-Type": content_type},
                    timeout=60,
                )
            except httpx.HTTPError:
                answer = None  # the server closed the connection while we were still sending
            if answer is not None:
                assert answer.status_code == 413, answer.text
                assert answer.json()["error"]["code"]
            grown_mb = (_rss_kb(server.pid) - before) / 1024
            assert grown_mb < allowed_mb, f"{content_type}: the server grew by {grown_mb:.0f} MB"
    finally:
        server.terminate()
        server.wait(timeout=20)
