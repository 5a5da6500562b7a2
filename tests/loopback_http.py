"""Plain HTTP servers on 127.0.0.1 for tests that need a picture host or a fake service."""

from __future__ import annotations

import contextlib
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that does not log each request to stderr."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        return

    def send_body(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        """Answer with ``body`` and its length, plus any further ``headers``."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


def picture_handler(body: bytes, seen: list[str] | None = None) -> type[BaseHTTPRequestHandler]:
    """A handler answering every GET with ``body`` as a PNG; the paths asked go to ``seen``."""

    class Picture(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            if seen is not None:
                seen.append(self.path)
            self.send_body(200, body, "image/png")

    return Picture


@contextlib.contextmanager
def serving(
    handler: Callable[..., BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None
) -> Iterator[ThreadingHTTPServer]:
    """``handler`` on a free port of 127.0.0.1 (behind ``tls`` if given) until the block ends."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(2)
