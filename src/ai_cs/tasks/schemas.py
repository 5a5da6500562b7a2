"""Shapes of tasks: the seed's plain dict, and the API's request and response models.

Dicts and models are keyed by the seed's column names. Request bodies forbid unknown fields and
do not coerce types: ``{"requirement": 123}`` is a 422, not the text ``"123"``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ai_cs.tasks.models import ImageTask, TaskRequirementChange

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


def _decode(value: Any) -> Any:
    if not isinstance(value, str):
        return value  # NULL, or a mapping that was decoded already (a seed dict)
    if value == "":
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


class Order(BaseModel):
    """A task as the shop's verbs (:mod:`ai_cs.tasks.orders`) hand it out: typed and read-only.

    The fields are the seed's columns and ai-cs's extras in that order, JSON columns decoded,
    so :meth:`as_dict` gives exactly the seed's dict for the callers that speak it
    (``Workflow``); the API's :class:`TaskRead` is the same shape.
    """

    model_config = ConfigDict(frozen=True)

    task_id: str
    customer_id: str
    customer_name: str | None = None
    original_image: str
    operation: str
    requirements: Any = None
    customer_notes: str | None = None
    status: str
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
    conversation_id: str | None = None
    designer_reason: str | None = None
    updated_at: str | None = None

    @classmethod
    def of(cls, row: ImageTask | Mapping[str, Any] | Any) -> Order:
        """The order of an ORM object, a Core row, a column mapping or a seed dict."""
        return cls.model_validate(task_to_dict(row))

    def as_dict(self) -> dict[str, Any]:
        """The seed's dict (every seed column, then the extras)."""
        return {name: getattr(self, name) for name in SEED_TASK_COLUMNS + EXTRA_TASK_COLUMNS}

    @property
    def details(self) -> dict[str, Any]:
        """``requirements`` as a mapping (empty when a hand-written row holds plain text)."""
        return dict(self.requirements) if isinstance(self.requirements, dict) else {}


class TaskRead(Order):
    """A task as the HTTP API returns it (an :class:`Order`, plus any extra a caller adds)."""

    model_config = ConfigDict(extra="allow", frozen=False)


class ChangeRead(BaseModel):
    """A row of ``task_requirement_changes``."""

    id: int
    task_id: str | None
    change_type: str | None
    old_value: str | None
    new_value: str | None
    changed_at: str | None
    changed_by: str | None


def change_to_dict(row: TaskRequirementChange) -> dict[str, Any]:
    """A history row as a dict keyed by the seed's column names."""
    return ChangeRead.model_validate(row, from_attributes=True).model_dump()


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RequirementCreate(_Body):
    """A requirement staff add to the task's notes (``changed_by = staff``)."""

    requirement: str = Field(
        description="The requirement in the customer's words, e.g. 需要去掉背景"
    )


class OperationChange(_Body):
    """The new operation (only before payment)."""

    operation: str = Field(description="enhance, remove_bg, vectorize or remove_bg_and_layer")


class HandToDesigner(_Body):
    """Why a human designer should take the task (转人工原因)."""

    reason: str = Field(description="Shown to the designer, e.g. 客户要求手工精修")


class ActionNote(_Body):
    """An optional reason recorded with a cancel or refund."""

    reason: str | None = Field(None, max_length=500)


class ResultFile(BaseModel):
    """A file produced for the task, served by the API."""

    kind: str
    url: str
    media_type: str | None = None


class DispatchRequest(BaseModel):
    """One request to the dispatch service (派单) as the outbox holds it."""

    key: str
    status: str
    attempts: int
    reason: str | None = None
    last_error: str | None = None
    created_at: str | None = None
    sent_at: str | None = None


class StaffActionRead(BaseModel):
    """One status change made by staff or a partner system."""

    id: int
    task_id: str
    action: str
    from_status: str | None = None
    to_status: str | None = None
    detail: str | None = None
    actor: str
    created_at: str


class TaskDetail(TaskRead):
    """A task with everything a staff member needs to decide.

    Analysis (``requirements``), quote, risk, result files, dispatch requests, staff actions.
    """

    original_url: str | None = None
    results: list[ResultFile] = Field(default_factory=list)
    dispatch: list[DispatchRequest] = Field(default_factory=list)
    staff_actions: list[StaffActionRead] = Field(default_factory=list)
    allowed_actions: list[str] = Field(default_factory=list)


class TaskList(BaseModel):
    """A page of tasks and the total number matching the filters."""

    data: list[TaskRead]
    count: int


class ChangeList(BaseModel):
    """Requirement changes, newest first, and how many there are."""

    data: list[ChangeRead]
    count: int


def as_detail(task: dict[str, Any], **extra: Any) -> TaskDetail:
    """A task dict plus its extra parts as :class:`TaskDetail`."""
    return TaskDetail.model_validate({**task, **extra})
