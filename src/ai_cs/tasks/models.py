"""Tables of the task domain (图片任务).

``image_tasks`` and ``task_requirement_changes`` carry exactly the seed document's columns, names
and types (TEXT / INTEGER); the others serve the rules: payments once per payment id, the per-day
task id counter, and the log of staff actions. Times are ISO 8601 text in the shop's time zone;
money is integer fen.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, text
from sqlalchemy.orm import Mapped, mapped_column

from ai_cs.db.models import Base, IndexedText, SerialId, TextKey


class ImageTask(Base):
    """图片任务表 (seed columns first, then ai-cs extras)."""

    __tablename__ = "image_tasks"

    task_id: Mapped[TextKey]
    customer_id: Mapped[IndexedText | None]
    customer_name: Mapped[str | None]
    original_image: Mapped[str | None]
    operation: Mapped[str | None]
    requirements: Mapped[str | None]
    customer_notes: Mapped[str | None]
    status: Mapped[IndexedText | None]
    created_at: Mapped[IndexedText | None]
    paid_at: Mapped[str | None]
    started_at: Mapped[str | None]
    completed_at: Mapped[str | None]
    result_image: Mapped[str | None]
    error_message: Mapped[str | None]
    retry_count: Mapped[int | None] = mapped_column(server_default=text("0"))
    acc_id: Mapped[str | None]
    acc_type: Mapped[str | None]
    # --- ai-cs extras ------------------------------------------------------------------------
    price_fen: Mapped[int | None]
    quote: Mapped[str | None]
    risk: Mapped[str | None]
    conversation_id: Mapped[str | None]
    designer_reason: Mapped[str | None]
    updated_at: Mapped[str | None]


class TaskRequirementChange(Base):
    """需求变更表: one row per change a customer or staff member made."""

    __tablename__ = "task_requirement_changes"

    id: Mapped[SerialId]
    task_id: Mapped[str | None] = mapped_column(ForeignKey("image_tasks.task_id"), index=True)
    change_type: Mapped[str | None]
    old_value: Mapped[str | None]
    new_value: Mapped[str | None]
    changed_at: Mapped[str | None]
    changed_by: Mapped[str | None]


class Payment(Base):
    """Every payment event seen, once per payment id and shop, with what it did.

    A platform's order id is unique only inside one shop account, so the key is
    ``(platform, account_id, payment_id)``; payments from no marketplace have '' for both.
    """

    __tablename__ = "payments"

    platform: Mapped[str] = mapped_column(primary_key=True, server_default=text("''"))
    account_id: Mapped[str] = mapped_column(primary_key=True, server_default=text("''"))
    payment_id: Mapped[TextKey]
    task_id: Mapped[IndexedText | None]
    customer_id: Mapped[str | None]
    amount_fen: Mapped[int | None]
    outcome: Mapped[str]
    detail: Mapped[str | None]
    received_at: Mapped[str]


class TaskIdSequence(Base):
    """Per-day counter behind ``TASK_YYYYMMDD_NNN`` ids."""

    __tablename__ = "task_id_sequences"

    day: Mapped[TextKey]
    last: Mapped[int]


class StaffAction(Base):
    """操作记录: one row per status change made by staff or a partner system."""

    __tablename__ = "staff_actions"

    id: Mapped[SerialId]
    task_id: Mapped[IndexedText]
    action: Mapped[str]
    from_status: Mapped[str | None]
    to_status: Mapped[str | None]
    detail: Mapped[str | None]
    actor: Mapped[str]
    key_id: Mapped[str | None]
    created_at: Mapped[str]
