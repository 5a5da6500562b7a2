"""Domain errors.

Every broken rule raises a subclass of :class:`AicsError` carrying a stable ``code`` string that
callers (HTTP API, CLI, agent tools, tests) match on. ``http_status`` is the single place where a
domain error is mapped to an HTTP status; services never raise framework exceptions.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AicsError(Exception):
    """Base class of every domain error."""

    code: ClassVar[str] = "aics_error"
    http_status: ClassVar[int] = 400

    def __init_subclass__(
        cls, *, code: str | None = None, http_status: int | None = None, **kwargs: Any
    ) -> None:
        """Take a subclass's ``code`` and ``http_status`` from its header.

        Each is inherited when not given, e.g.
        ``class TaskNotFound(AicsError, code="task_not_found", http_status=404)``
        """
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code
        if http_status is not None:
            cls.http_status = http_status

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The error as the public JSON shape ``{"code", "message"}``."""
        return {"code": self.code, "message": self.message}


# --- 422: the request cannot be done as asked (an argument, a picture, a result) ------------------
class InvalidArgument(AicsError, code="invalid_argument", http_status=422):
    """An argument has the wrong type, is empty, or is out of range."""


class EmptyRequirement(InvalidArgument, code="empty_requirement"):
    """A requirement or note is empty after trimming."""


class RequirementTooLong(InvalidArgument, code="requirement_too_long"):
    """A requirement or note is longer than the shop accepts."""


class UnknownOperation(InvalidArgument, code="unknown_operation"):
    """The operation is not one the shop offers."""


class UnknownStatus(InvalidArgument, code="unknown_status"):
    """A status filter names no known status."""


class ImageRejected(AicsError, code="image_rejected", http_status=422):
    """A picture was refused at intake (format, size, address, content)."""


class ProcessingFailed(AicsError, code="processing_failed", http_status=422):
    """An engine failed or its result did not pass the quality check."""


class QualityCheckFailed(ProcessingFailed, code="quality_check_failed"):
    """An engine produced a result that failed its quality check."""


# --- 401 and 403: who is asking -------------------------------------------------------------------
class AuthError(AicsError, code="unauthorized", http_status=401):
    """Missing or wrong credentials."""


class Forbidden(AicsError, code="forbidden", http_status=403):
    """Valid credentials without the needed scope."""


# --- 404: nothing there for this caller -----------------------------------------------------------
class TaskNotFound(AicsError, code="task_not_found", http_status=404):
    """No task has this id."""


class NotTaskOwner(AicsError, code="not_task_owner", http_status=404):
    """The task belongs to another customer."""


class NotFound(AicsError, code="not_found", http_status=404):
    """A resource other than a task does not exist (or is not visible to the caller)."""


# --- 409: the current state does not allow it -----------------------------------------------------
class NoPendingTask(AicsError, code="no_pending_task", http_status=409):
    """A payment arrived but the customer has no task waiting for payment."""


class InvalidTransition(AicsError, code="invalid_transition", http_status=409):
    """The task is not in a status from which this change is allowed."""


class OperationLockedAfterPayment(InvalidTransition, code="operation_locked_after_payment"):
    """The operation can only be changed before payment (付款后不允许修改操作类型)."""


class RequirementsLockedAfterPayment(InvalidTransition, code="requirements_locked_after_payment"):
    """Notes and requirements can only be added before payment."""


class ConcurrentUpdate(AicsError, code="concurrent_update", http_status=409):
    """Another caller changed the task first; the compare-and-set did not apply."""


class PaymentConflict(AicsError, code="payment_conflict", http_status=409):
    """A payment id was seen before for another task or customer."""


class Conflict(AicsError, code="conflict", http_status=409):
    """The request conflicts with the current state of a resource."""


# --- 500: the server itself -----------------------------------------------------------------------
class PortInUse(AicsError, code="port_in_use", http_status=500):
    """A server cannot listen: another program already has the address."""
