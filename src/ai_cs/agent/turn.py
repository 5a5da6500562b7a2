"""What the offline policy knows during one customer turn.

The tool calls made and what earlier turns left open; shared by the policy (which decides) and
the replies (which write).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from ai_cs.core.tasks import Operation


@dataclass(frozen=True)
class Step:
    """A tool call of the current turn and what it returned (its result model)."""

    tool: str
    args: dict[str, Any]
    result: BaseModel | None

    def ok(self) -> bool:
        """Whether the tool reported success."""
        return bool(getattr(self.result, "ok", self.result is not None))


@dataclass(frozen=True)
class Context:
    """What earlier turns asked for that no tool has served yet."""

    operation: Operation | None = None
    finding: bool = False
    details: dict[str, str] = field(default_factory=dict)
    previous_job: Operation | None = None
    """The job the customer named for their last picture: the next picture with none is that."""
    with_staff: bool = False
    """A retouch asked earlier went to staff: the pictures for it are theirs, not a quote."""
