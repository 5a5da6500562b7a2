"""Fixtures for the imaging tests: settings, a connection-counting listener, a picture server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import typer
from pictures import encode, photo_like, served_poster_png
from typer.testing import CliRunner

from ai_cs.cli.analyze import register
from ai_cs.config import Settings, get_settings
from loopback_http import QuietHandler, serving


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(allowed: list[str] | None = None) -> Settings:
        return Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=tmp_path / "data",
            fetch_allowed_hosts=allowed or [],
        )

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


# --- a raw TCP listener that only counts who connects -------------------------------------------
@dataclass
class Listener:
    port: int
    connections: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def listener() -> Iterator[Listener]:
    """A real socket on 127.0.0.1 that counts connections (refused URLs must make none)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.1)
    state = Listener(port=server.getsockname()[1])

    def serve() -> None:
        while not state._stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            state.connections += 1
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield state
    state._stop.set()
    thread.join(2)
    server.close()


# --- a picture server --------------------------------------------------------------------------
@dataclass
class PictureServer:
    port: int
    hosts: list[str]
    paths: list[str]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


POSTER_PNG = served_poster_png()
PHOTO_JPEG = encode(photo_like((320, 240)), "JPEG", quality=90)
BIG = 21 * 1024 * 1024


class _Handler(QuietHandler):
    server_version = "pictures/1"
    record: PictureServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.record.hosts.append(self.headers.get("Host", ""))
        self.record.paths.append(self.path)
        parsed = urlparse(self.path)
        path = parsed.path
        if path == "/poster.png":
            self.send_body(200, POSTER_PNG, "image/png")
        elif path == "/photo.jpg":
            self.send_body(200, PHOTO_JPEG, "image/jpeg; charset=binary")
        elif path == "/octet":
            self.send_body(200, POSTER_PNG, "application/octet-stream")
        elif path == "/page.html":
            self.send_body(200, b"<html>hi</html>", "text/html")
        elif path == "/drawing.svg":
            self.send_body(200, b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml")
        elif path == "/empty.png":
            self.send_body(200, b"", "image/png")
        elif path == "/gzip.png":
            self.send_body(200, POSTER_PNG, "image/png", {"Content-Encoding": "gzip"})
        elif path == "/declared-big.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(BIG))
            self.end_headers()
            self.wfile.write(POSTER_PNG)  # the client must give up before reading the rest
        elif path == "/streamed-big.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()  # no length: HTTP/1.0 body until close
            chunk = b"\0" * 65536
            try:
                for _ in range(BIG // len(chunk)):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif path == "/slow.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            try:
                self.wfile.write(POSTER_PNG[:100])
                self.wfile.flush()
                time.sleep(4)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif path.startswith("/redirect/"):
            left = int(path.rsplit("/", 1)[1])
            target = "/poster.png" if left <= 1 else f"/redirect/{left - 1}"
            self.send_body(302, b"", "text/plain", {"Location": target})
        elif path == "/to":
            target = parse_qs(parsed.query)["url"][0]
            self.send_body(302, b"", "text/plain", {"Location": target})
        elif path == "/no-location":
            self.send_body(302, b"", "text/plain")
        else:
            self.send_body(404, b"not here", "text/plain")


@pytest.fixture
def picture_server() -> Iterator[PictureServer]:
    record = PictureServer(port=0, hosts=[], paths=[])
    with serving(type("Handler", (_Handler,), {"record": record})) as httpd:
        record.port = httpd.server_address[1]
        yield record


# --- the CLI ------------------------------------------------------------------------------------
@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str
    seconds: float


@pytest.fixture
def run_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., CliResult]]:
    """Run ``aics analyze ...`` in-process with a fresh data directory and no allowed hosts."""
    monkeypatch.setenv("AICS_DATA_DIR", str(tmp_path / "cli-data"))
    monkeypatch.setenv("AICS_FETCH_ALLOWED_HOSTS", "")
    get_settings.cache_clear()
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @app.callback()
    def _root() -> None:
        """Test harness: keep ``analyze`` a sub-command."""

    register(app)
    runner = CliRunner()

    def run(*args: str) -> CliResult:
        start = time.monotonic()
        result = runner.invoke(app, ["analyze", *args], catch_exceptions=False)
        return CliResult(
            exit_code=result.exit_code,
            stdout=result.stdout,
            stderr=result.stderr,
            seconds=time.monotonic() - start,
        )

    yield run
    get_settings.cache_clear()
