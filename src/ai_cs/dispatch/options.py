"""Knobs of one dispatch service instance, and where its page and static files live."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ai_cs.dispatch.results import MAX_RESULT_BYTES
from ai_cs.jobs.embedded import backoff_seconds

PACKAGE_DIR = Path(__file__).parent

FORM_OVERHEAD_BYTES = 64 * 1024
"""Multipart framing and form fields allowed on top of the largest result."""


@dataclass(frozen=True)
class DispatchOptions:
    """Knobs of one dispatch service instance (defaults suit production; tests shorten them)."""

    background: bool = True
    """Run the callback and reminder loops (off for tests that drive them by hand)."""
    poll_interval: float = 1.0
    """Seconds between callback outbox scans when nothing woke the loop."""
    reminder_interval: float = 60.0
    """Seconds between overdue scans."""
    backoff: Callable[[int], float] = backoff_seconds
    """Delay before retrying a callback after ``attempts`` tries (2 s, 4 s, … up to 5 min)."""
    callback_timeout: float = 30.0
    """Timeout of one callback request; the API fetches and checks the result meanwhile."""
    max_result_bytes: int = MAX_RESULT_BYTES
    """Largest upload accepted at ``finish``."""
    public_url: str | None = None
    """Base URL designers and ai-cs use for this service; default ``dispatch_base_url``."""
    api_url: str | None = None
    """Base URL of the API on 6060 for callbacks; default ``api_base_url``."""
