"""Listening sockets for our HTTP servers, bound before anything slow starts.

Binding first turns a taken port into one clear line at once (``aics serve`` or ``aics dispatch``
started twice), and since uvicorn is handed this very socket no other process can take the port
in between. Bound as uvicorn binds (``SO_REUSEADDR``), so a port in ``TIME_WAIT`` is not "in use".
"""

from __future__ import annotations

import errno
import socket

from ai_cs.errors import PortInUse

IN_USE_HINT = "is aics serve already running?"


def listen(host: str, port: int, *, in_use_hint: str = IN_USE_HINT) -> socket.socket:
    """A listening socket on ``host:port``, or :class:`~ai_cs.errors.PortInUse` with a hint."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            message = f"port {port} on {host} is already in use — {in_use_hint}"
        elif exc.errno == errno.EACCES:
            message = f"may not listen on {host}:{port} (ports below 1024 need root)"
        elif exc.errno == errno.EADDRNOTAVAIL:
            message = f"cannot listen on {host}:{port}: {host} is no address of this machine"
        else:
            message = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        raise PortInUse(message, port=port) from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock
