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

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The error as the public JSON shape ``{"code", "message"}``."""
        return {"code": self.code, "message": self.message}


class InvalidArgument(AicsError):
    """An argument has the wrong type, is empty, or is out of range."""

    code = "invalid_argument"
    http_status = 422


class EmptyRequirement(InvalidArgument):
    """A requirement or note is empty after trimming."""

    code = "empty_requirement"


class RequirementTooLong(InvalidArgument):
    """A requirement or note is longer than the shop accepts."""

    code = "requirement_too_long"


class UnknownOperation(InvalidArgument):
    """The operation is not one the shop offers."""

    code = "unknown_operation"


class UnknownStatus(InvalidArgument):
    """A status filter names no known status."""

    code = "unknown_status"


class TaskNotFound(AicsError):
    """No task has this id."""

    code = "task_not_found"
    http_status = 404


class NotTaskOwner(AicsError):
    """The task belongs to another customer."""

    code = "not_task_owner"
    http_status = 404


class NoPendingTask(AicsError):
    """A payment arrived but the customer has no task waiting for payment."""

    code = "no_pending_task"
    http_status = 409


class InvalidTransition(AicsError):
    """The task is not in a status from which this change is allowed."""

    code = "invalid_transition"
    http_status = 409


class OperationLockedAfterPayment(InvalidTransition):
    """The operation can only be changed before payment (付款后不允许修改操作类型)."""

    code = "operation_locked_after_payment"


class RequirementsLockedAfterPayment(InvalidTransition):
    """Notes and requirements can only be added before payment."""

    code = "requirements_locked_after_payment"


class ConcurrentUpdate(AicsError):
    """Another caller changed the task first; the compare-and-set did not apply."""

    code = "concurrent_update"
    http_status = 409


class PaymentConflict(AicsError):
    """A payment id was seen before for another task or customer."""

    code = "payment_conflict"
    http_status = 409


class ImageRejected(AicsError):
    """A picture was refused at intake (format, size, address, content)."""

    code = "image_rejected"
    http_status = 422


class ProcessingFailed(AicsError):
    """An engine failed or its result did not pass the quality check."""

    code = "processing_failed"
    http_status = 422


class QualityCheckFailed(ProcessingFailed):
    """An engine produced a result that failed its quality check."""

    code = "quality_check_failed"


class AuthError(AicsError):
    """Missing or wrong credentials."""

    code = "unauthorized"
    http_status = 401


class Forbidden(AicsError):
    """Valid credentials without the needed scope."""

    code = "forbidden"
    http_status = 403


class NotFound(AicsError):
    """A resource other than a task does not exist (or is not visible to the caller)."""

    code = "not_found"
    http_status = 404


class Conflict(AicsError):
    """The request conflicts with the current state of a resource."""

    code = "conflict"
    http_status = 409


class PortInUse(AicsError):
    """A server cannot listen: another program already has the address."""

    code = "port_in_use"
    http_status = 500
