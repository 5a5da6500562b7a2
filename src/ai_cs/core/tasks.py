"""Task statuses, operations and the rules that govern them (任务状态流转).

Transitions are data: :data:`TRANSITIONS` lists every allowed ``(previous, current)`` pair and
each service applies one of them as a compare-and-set UPDATE, so the same table is checked in
Python and again by the database.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum
from typing import Final, TypeVar

from ai_cs.errors import (
    AicsError,
    EmptyRequirement,
    InvalidArgument,
    InvalidTransition,
    OperationLockedAfterPayment,
    RequirementsLockedAfterPayment,
    RequirementTooLong,
    UnknownOperation,
    UnknownStatus,
)


class TaskStatus(StrEnum):
    """Status of an image task, with the seed's names."""

    PENDING = "pending"  # 待付款
    PAID = "paid"  # 已付款
    PROCESSING = "processing"  # 处理中
    AWAITING_CONFIRM = "awaiting_confirm"  # 待确认
    COMPLETED = "completed"  # 已完成
    FAILED = "failed"  # 失败 (automation gave up; a designer takes it next)
    WITH_DESIGNER = "with_designer"  # 转人工: a human designer has the job
    CANCELLED = "cancelled"  # closed before payment
    REFUNDED = "refunded"  # money returned after payment


class Operation(StrEnum):
    """What the shop does to the picture (操作类型)."""

    ENHANCE = "enhance"
    REMOVE_BG = "remove_bg"
    VECTORIZE = "vectorize"
    REMOVE_BG_AND_LAYER = "remove_bg_and_layer"
    ID_PHOTO = "id_photo"  # 证件照: background colour and a standard size
    RESIZE_COMPRESS = "resize_compress"  # 改尺寸/压缩: exact pixels and a file-size range


class ChangeType(StrEnum):
    """Kinds of rows in ``task_requirement_changes``."""

    ADD_NOTE = "add_note"
    MODIFY_OPERATION = "modify_operation"
    ADD_REQUIREMENT = "add_requirement"


class Actor(StrEnum):
    """Who made a change (``changed_by``)."""

    CUSTOMER = "customer"
    STAFF = "staff"


S = TaskStatus

TRANSITIONS: Final[frozenset[tuple[TaskStatus, TaskStatus]]] = frozenset(
    {
        (S.PENDING, S.PAID),
        (S.PENDING, S.CANCELLED),
        (S.PAID, S.PROCESSING),
        (S.PAID, S.WITH_DESIGNER),
        (S.PAID, S.REFUNDED),
        (S.PROCESSING, S.AWAITING_CONFIRM),
        (S.PROCESSING, S.FAILED),
        (S.PROCESSING, S.WITH_DESIGNER),
        (S.PROCESSING, S.REFUNDED),
        (S.FAILED, S.WITH_DESIGNER),
        (S.FAILED, S.PROCESSING),
        (S.FAILED, S.REFUNDED),
        (S.WITH_DESIGNER, S.AWAITING_CONFIRM),
        (S.WITH_DESIGNER, S.REFUNDED),
        (S.AWAITING_CONFIRM, S.COMPLETED),
        (S.AWAITING_CONFIRM, S.PROCESSING),
        (S.AWAITING_CONFIRM, S.WITH_DESIGNER),
        (S.AWAITING_CONFIRM, S.REFUNDED),
    }
)
"""Every allowed ``(previous, current)`` status pair."""

STAMPS: Final[dict[TaskStatus, str]] = {
    S.PAID: "paid_at",
    S.PROCESSING: "started_at",
    S.COMPLETED: "completed_at",
}
"""The time column a transition into a status sets, whoever makes it (付款/开始处理/完成时间)."""

TERMINAL: Final[frozenset[TaskStatus]] = frozenset({S.COMPLETED, S.CANCELLED, S.REFUNDED})

EDITABLE: Final[frozenset[TaskStatus]] = frozenset({S.PENDING})
"""Statuses in which notes, requirements and the operation may change (只在付款前)."""

MAX_REQUIREMENT_CHARS: Final = 2000
MAX_ID_CHARS: Final = 128


def sources_of(target: TaskStatus) -> frozenset[TaskStatus]:
    """Statuses from which ``target`` may be reached."""
    return frozenset(prev for prev, cur in TRANSITIONS if cur is target)


E = TypeVar("E", bound=StrEnum)


def check_step(
    steps: Collection[tuple[E, E]],
    previous: E,
    current: E,
    error: type[AicsError],
    subject: str,
    **ids: str,
) -> None:
    """Raise ``error`` about ``subject`` unless ``previous → current`` is one of ``steps``.

    ``ids`` (``task_id=...``) go into the error's details with both statuses.
    """
    if (previous, current) not in steps:
        raise error(
            f"{subject} cannot go from {previous.value!r} to {current.value!r}",
            previous=previous.value,
            current=current.value,
            **ids,
        )


def check_transition(task_id: str, previous: TaskStatus, current: TaskStatus) -> None:
    """Raise :class:`InvalidTransition` unless ``previous → current`` is allowed."""
    check_step(
        TRANSITIONS, previous, current, InvalidTransition, f"task {task_id!r}", task_id=task_id
    )


def parse_member(kind: type[E], value: object, error: type[AicsError], what: str) -> E:
    """The member of ``kind`` that ``value`` names (spaces around it ignored), else ``error``."""
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        try:
            return kind(value.strip())
        except ValueError:
            pass
    raise error(f"unknown {what} {value!r}; expected one of {[m.value for m in kind]}")


def parse_status(value: object) -> TaskStatus:
    """The status named by ``value`` or :class:`UnknownStatus`."""
    return parse_member(TaskStatus, value, UnknownStatus, "status")


def parse_operation(value: object) -> Operation:
    """The operation named by ``value`` or :class:`UnknownOperation`."""
    return parse_member(Operation, value, UnknownOperation, "operation")


def check_id(name: str, value: object) -> str:
    """A non-empty id string of sane length, or :class:`InvalidArgument`."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{name} must be a string, got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise InvalidArgument(f"{name} must not be empty")
    if len(text) > MAX_ID_CHARS or any(ord(ch) < 32 or 0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise InvalidArgument(f"{name} {value[:40]!r} is not a valid id")
    return text


def clean_requirement(value: object) -> str:
    """A requirement or note trimmed and checked, or a domain error saying what is wrong."""
    if not isinstance(value, str):
        raise InvalidArgument(f"requirement must be a string, got {type(value).__name__}")
    # Control characters and lone surrogates (invalid UTF-16 halves that no database can
    # store) are dropped; what remains must still say something.
    text = "".join(
        ch for ch in value if ch in "\n\t" or (ord(ch) >= 32 and not 0xD800 <= ord(ch) <= 0xDFFF)
    ).strip()
    if not text:
        raise EmptyRequirement("requirement is empty")
    if len(text) > MAX_REQUIREMENT_CHARS:
        raise RequirementTooLong(
            f"requirement has {len(text)} characters; at most {MAX_REQUIREMENT_CHARS} are accepted"
        )
    return text


def check_can_add_requirement(task_id: str, status: TaskStatus) -> None:
    """Notes and requirements are accepted only until payment."""
    _check_editable(
        task_id, status, RequirementsLockedAfterPayment, "requirements can only be added"
    )


def check_can_modify_operation(task_id: str, status: TaskStatus) -> None:
    """The operation can change only before payment (付款后不允许)."""
    _check_editable(task_id, status, OperationLockedAfterPayment, "the operation can only change")


def _check_editable(
    task_id: str, status: TaskStatus, error: type[InvalidTransition], what: str
) -> None:
    if status not in EDITABLE:
        raise error(
            f"task {task_id!r} is {status.value!r}; {what} before payment",
            task_id=task_id,
            status=status.value,
        )


def check_text(name: str, value: object, limit: int) -> str | None:
    """Optional free text (names, URLs, paths), checked; ``None`` stays ``None``.

    A string without NUL, control characters or lone surrogates, at most ``limit`` characters.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgument(f"{name} must be a string, got {type(value).__name__}")
    if len(value) > limit:
        raise InvalidArgument(f"{name} is longer than {limit} characters")
    if any((ord(ch) < 32 and ch not in "\n\t") or 0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise InvalidArgument(f"{name} contains control characters or invalid text")
    return value


def format_note_line(stamp_mm_dd_hh_mm: str, text: str) -> str:
    """One ``customer_notes`` line as in the seed: ``[02-27 18:00] 需要去掉背景``."""
    return f"[{stamp_mm_dd_hh_mm}] {text}"


def append_note(existing: str | None, line: str) -> str:
    """``customer_notes`` with ``line`` appended on its own line."""
    return line if not existing else f"{existing}\n{line}"


def format_task_id(day_yyyymmdd: str, sequence: int) -> str:
    """``TASK_20260227_001``: the shop's date and a per-day sequence (at least three digits)."""
    if sequence < 1:
        raise InvalidArgument(f"task sequence must be positive, got {sequence}")
    return f"TASK_{day_yyyymmdd}_{sequence:03d}"
