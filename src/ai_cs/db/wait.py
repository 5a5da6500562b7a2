"""Waiting for the database at start: a process started during a PostgreSQL restart waits."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import InterfaceError, OperationalError

log = logging.getLogger(__name__)

STARTUP_WAIT_SECONDS = 120.0

T = TypeVar("T")


def when_database_answers(
    build: Callable[[], T], *, wait_seconds: float = STARTUP_WAIT_SECONDS
) -> T:
    """``build()`` retried with backoff while the database does not answer yet.

    A process (re)started while PostgreSQL restarts must not die of it; it waits, as a
    supervisor would otherwise have to restart it in a loop.
    """
    deadline = time.monotonic() + wait_seconds
    delay = 0.5
    while True:
        try:
            return build()
        except (OperationalError, InterfaceError) as exc:
            if time.monotonic() + delay > deadline:
                raise
            log.warning(
                "database not reachable yet (%s); retrying in %.1f s",
                exc.__class__.__name__,
                delay,
            )
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
