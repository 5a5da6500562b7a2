"""``aics serve`` as a newcomer meets it: banner, ``/`` → console, offline docs, clean Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

AICS = str(Path(sys.executable).with_name("aics"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(api_port: int, dispatch_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICS_")}
    env.update(AICS_API_PORT=str(api_port), AICS_DISPATCH_PORT=str(dispatch_port))
    return env


def _wait_for(url: str, process: subprocess.Popen[str], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer")


def test_banner_home_docs_and_ctrl_c(tmp_path: Path) -> None:
    api, dispatch = _free_port(), _free_port()
    process = subprocess.Popen(
        [AICS, "serve"],
        cwd=tmp_path,
        env=_env(api, dispatch),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{api}"
        _wait_for(f"{base}/healthz", process)
        home = httpx.get(f"{base}/", timeout=5)
        assert home.status_code == 307 and home.headers["location"] == "/console/"
        assert httpx.get(f"{base}/console/", timeout=5, follow_redirects=True).status_code == 200
        docs = httpx.get(f"{base}/docs", timeout=5)
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
        assert "cdn" not in docs.text.lower() and "https://" not in docs.text
        script = httpx.get(f"{base}/static-docs/swagger-ui-bundle.js", timeout=5)
        assert script.status_code == 200 and len(script.content) > 100_000
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert f"staff console    {base}/console/" in out
    assert "aics keys create --name me --scope staff" in out  # no key yet: how to get one
    assert f"data             {tmp_path / 'data'}" in out
    assert "aics_" not in out + err  # no key is ever printed
    assert "ai-cs stopped" in out
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if "uvicorn.access" not in line]
    assert len(lines) == len(set(lines)), "a log line was printed twice"
    assert "Started server process" not in err and "Context impl" not in err


def test_a_second_serve_says_the_port_is_taken(tmp_path: Path) -> None:
    api, dispatch = _free_port(), _free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", api))
        taken.listen()
        result = subprocess.run(
            [AICS, "serve"],
            cwd=tmp_path,
            env=_env(api, dispatch),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 2
    assert f"port {api} on 127.0.0.1 is already in use — is aics serve already running?" in (
        result.stderr.replace("\n", " ")
    )
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()  # it stopped before touching anything
