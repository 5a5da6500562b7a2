"""Request and response shapes of the Tianwang API (``TaskRead``, lists as ``{data, count}``).

Request bodies forbid unknown fields and do not coerce types: ``{"requirement": 123}`` is a 422,
not the text ``"123"``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ai_cs.tasks.schemas import ChangeRead, TaskRead


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

    conversation_id: str | None = None
    designer_reason: str | None = None
    updated_at: str | None = None
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


class Health(BaseModel):
    """``GET /healthz``."""

    status: str
    database: str


def as_detail(task: dict[str, Any], **extra: Any) -> TaskDetail:
    """A task dict plus its extra parts as :class:`TaskDetail`."""
    return TaskDetail.model_validate({**task, **extra})
