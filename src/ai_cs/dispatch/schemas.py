"""Request and response shapes of the dispatch service (``JobCreate`` / ``JobRead``)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

Ident = Annotated[str, Field(min_length=1, max_length=128)]
"""An id (job, task, callback event) or a designer's name: 1 to 128 characters."""


class JobCreate(BaseModel):
    """A hand-off from ai-cs: everything a designer needs and why it came to a human."""

    model_config = ConfigDict(extra="ignore")

    task_id: Ident
    original_image: str = Field(min_length=1, max_length=4096)
    operation: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=500)
    customer_notes: str | None = Field(None, max_length=20_000)
    analysis: Any = None
    quote: Any = None
    acc_id: str | None = Field(None, max_length=200)
    acc_type: str | None = Field(None, max_length=64)
    customer_id: str | None = Field(None, max_length=128)
    idempotency_key: str | None = Field(
        None, max_length=200, description="Same as the Idempotency-Key header; either may be used."
    )


class DesignerRequest(BaseModel):
    """A request made for one designer."""

    designer: Ident


class ClaimRequest(DesignerRequest):
    """Who takes the job (接单)."""


class ReleaseRequest(DesignerRequest):
    """Who gives the job back (放弃)."""


class JobRead(BaseModel):
    """A job as the service returns it."""

    model_config = ConfigDict(extra="allow")

    job_id: str
    task_id: str
    operation: str
    operation_label: str
    deliver_as: str = ""
    """The file the designer must upload (the order's formats, else the operation's)."""
    reason: str
    status: str
    original_image: str
    customer_notes: str | None = None
    analysis: Any = None
    quote: Any = None
    acc_id: str | None = None
    acc_type: str | None = None
    customer_id: str | None = None
    designer: str | None = None
    claimed_at: str | None = None
    deadline_at: str | None = None
    overdue: bool = False
    reminded_at: str | None = None
    reminders: int = 0
    finished_at: str | None = None
    result_url: str | None = None
    result_sha256: str | None = None
    result_mime: str | None = None
    result_bytes: int | None = None
    result_name: str | None = None
    callback_status: str | None = None
    created_at: str
    updated_at: str


class JobList(BaseModel):
    """A page of jobs."""

    data: list[JobRead]
    count: int


class Workload(BaseModel):
    """How much one designer has (工作量)."""

    designer: str
    claimed: int
    overdue: int
    done: int


class WorkloadList(BaseModel):
    """Workload of every designer who ever claimed a job."""

    data: list[Workload]
    count: int


class CallbackBody(BaseModel):
    """The signed finish callback (8005 → 6060)."""

    model_config = ConfigDict(extra="ignore")

    event_id: Ident
    job_id: Ident
    task_id: Ident
    designer: Ident
    result_url: str = Field(min_length=1, max_length=2048)
    result_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    result_mime: str | None = Field(None, max_length=100)
    result_bytes: int | None = Field(None, ge=0)
    result_name: str | None = Field(None, max_length=255)
    finished_at: str = Field(min_length=1, max_length=64)
