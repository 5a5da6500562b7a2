"""Plain-dict and pydantic shapes of tasks and history rows (keyed by the seed's column names)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from ai_cs.db.models import ImageTask, TaskRequirementChange

SEED_TASK_COLUMNS = (
    "task_id",
    "customer_id",
    "customer_name",
    "original_image",
    "operation",
    "requirements",
    "customer_notes",
    "status",
    "created_at",
    "paid_at",
    "started_at",
    "completed_at",
    "result_image",
    "error_message",
    "retry_count",
    "acc_id",
    "acc_type",
)
EXTRA_TASK_COLUMNS = (
    "price_fen",
    "quote",
    "risk",
    "conversation_id",
    "designer_reason",
    "updated_at",
)
JSON_COLUMNS = frozenset({"requirements", "quote", "risk"})
HISTORY_COLUMNS = (
    "id",
    "task_id",
    "change_type",
    "old_value",
    "new_value",
    "changed_at",
    "changed_by",
)


def _decode(value: str | None) -> Any:
    if value is None or value == "":
        return None
    try:
        return json.loads(value)
    except ValueError:
        # Rows written by hand (sqlite3 shell) may hold plain text; hand it back as it is.
        return value


def encode_json(value: Any) -> str | None:
    """JSON text for a JSON column (UTF-8, not ASCII-escaped, so ``sqlite3`` shows Chinese)."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def task_to_dict(row: ImageTask | Mapping[str, Any] | Any) -> dict[str, Any]:
    """A task as the seed's dict: every seed column, then ai-cs extras, JSON columns decoded.

    Accepts an ORM object, a Core row (attribute access) or a plain mapping of column values.
    """
    out: dict[str, Any] = {}
    for name in SEED_TASK_COLUMNS + EXTRA_TASK_COLUMNS:
        value = row.get(name) if isinstance(row, Mapping) else getattr(row, name)
        out[name] = _decode(value) if name in JSON_COLUMNS else value
    return out


def change_to_dict(row: TaskRequirementChange) -> dict[str, Any]:
    """A history row as a dict keyed by the seed's column names."""
    return {name: getattr(row, name) for name in HISTORY_COLUMNS}


class TaskRead(BaseModel):
    """A task as the HTTP API returns it."""

    model_config = ConfigDict(extra="allow")

    task_id: str
    customer_id: str | None = None
    customer_name: str | None = None
    original_image: str | None = None
    operation: str | None = None
    requirements: Any = None
    customer_notes: str | None = None
    status: str | None = None
    created_at: str | None = None
    paid_at: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    result_image: str | None = None
    error_message: str | None = None
    retry_count: int | None = None
    acc_id: str | None = None
    acc_type: str | None = None
    price_fen: int | None = None
    quote: Any = None
    risk: Any = None


class ChangeRead(BaseModel):
    """A row of ``task_requirement_changes``."""

    id: int
    task_id: str | None
    change_type: str | None
    old_value: str | None
    new_value: str | None
    changed_at: str | None
    changed_by: str | None
