"""Delivery times as data (交付时间): how long a job typically takes, like prices are a table.

Per operation and picture complexity, the minutes the automatic engine usually needs from payment
to result, plus the hours a human designer usually needs when a job goes to one. Shops set their
own with ``AICS_DELIVERY_TIMES`` (JSON, any field). The chat states these figures together with
the queue's current length; it never promises more than the table says.

Pure: the standard library and pydantic only.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, Field

from ai_cs.core.pricing import Complexity
from ai_cs.core.tasks import Operation

_DEFAULT_MINUTES: Final[dict[Operation, tuple[int, int, int]]] = {
    Operation.ENHANCE: (5, 10, 20),
    Operation.REMOVE_BG: (5, 10, 30),
    Operation.VECTORIZE: (10, 20, 40),
    Operation.REMOVE_BG_AND_LAYER: (15, 30, 60),
    Operation.ID_PHOTO: (5, 5, 10),
    Operation.RESIZE_COMPRESS: (5, 5, 5),
}


def _default_minutes() -> dict[Operation, dict[Complexity, int]]:
    return {op: dict(zip(Complexity, row, strict=True)) for op, row in _DEFAULT_MINUTES.items()}


class DeliveryTimes(BaseModel):
    """Typical minutes from payment to result, per operation and complexity."""

    minutes: dict[Operation, dict[Complexity, int]] = Field(default_factory=_default_minutes)
    per_queued_job_minutes: int = Field(
        3, ge=0, description="Extra wait for every paid job ahead in the queue."
    )
    designer_hours: int = Field(
        24, ge=1, description="Typical time a designer needs (人工精修, revisions)."
    )

    def typical(self, operation: Operation, complexity: Complexity = Complexity.NORMAL) -> int:
        """Typical minutes of one job (the table's normal row when a cell is missing)."""
        row = self.minutes.get(operation) or _default_minutes()[operation]
        return row.get(complexity) or row.get(Complexity.NORMAL) or 10

    def estimate(
        self, operation: Operation, complexity: Complexity = Complexity.NORMAL, queued: int = 0
    ) -> int:
        """Minutes until the result, with ``queued`` paid jobs ahead."""
        return self.typical(operation, complexity) + max(0, queued) * self.per_queued_job_minutes


def duration_text(minutes: int) -> str:
    """``25`` → ``"25 分钟"``, ``90`` → ``"1.5 小时"``, ``120`` → ``"2 小时"``."""
    if minutes < 60:
        return f"{minutes} 分钟"
    hours = minutes / 60
    return f"{hours:g} 小时" if hours * 2 == int(hours * 2) else f"{round(hours)} 小时"
