"""Reconnect backoff shared by the gateway client and the marketplace bridges."""

from __future__ import annotations

import random
from collections.abc import Callable


def backoff_delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    rng: Callable[[], float] = random.random,
) -> float:
    """Delay before reconnect number ``attempt`` (0-based): exponential with "equal jitter".

    Half of ``min(cap, base·2^attempt)`` is fixed and half random, so a fleet of clients that
    lost their server at the same moment does not come back in lockstep.
    """
    ceiling = min(cap, base * float(2 ** max(0, min(attempt, 30))))
    return ceiling / 2 + rng() * ceiling / 2
