"""Time in the shop's time zone, behind a tiny interface so tests can fix it."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    """Source of the current time."""

    def now(self) -> datetime:
        """The current time, time-zone aware, in the shop's zone."""
        ...

    def epoch(self) -> float:
        """Seconds since the epoch (for leases and schedules compared in SQL)."""
        ...


class SystemClock:
    """The real clock in a given time zone (default Asia/Shanghai)."""

    def __init__(self, tz: ZoneInfo | str = "Asia/Shanghai") -> None:
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz

    def now(self) -> datetime:
        """The current time in the shop's zone."""
        return datetime.now(self.tz)

    def epoch(self) -> float:
        """Seconds since the epoch."""
        return time.time()


class FixedClock:
    """A clock that stands still until moved (tests, demos, benchmarks)."""

    def __init__(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("FixedClock needs a time-zone aware datetime")
        self.moment = moment

    def now(self) -> datetime:
        """The fixed moment."""
        return self.moment

    def epoch(self) -> float:
        """The fixed moment as epoch seconds."""
        return self.moment.timestamp()

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        from datetime import timedelta

        self.moment = self.moment + timedelta(seconds=seconds)


def iso(moment: datetime) -> str:
    """ISO 8601 text as stored in the database (microseconds, with offset)."""
    return moment.isoformat(timespec="microseconds")


def note_stamp(moment: datetime) -> str:
    """The seed's note stamp ``02-27 18:00``."""
    return moment.strftime("%m-%d %H:%M")
