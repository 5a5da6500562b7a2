"""Tables of the task domain (图片任务).

``image_tasks`` and ``task_requirement_changes`` carry exactly the seed document's columns, names
and types (TEXT / INTEGER); the others serve the rules: payments once per payment id, the per-day
task id counter, and the log of staff actions. Times are ISO 8601 text in the shop's time zone;
money is integer fen.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ai_cs.db.models import Base


class ImageTask(Base):
    """图片任务表 (seed columns first, then ai-cs extras)."""

    __tablename__ = "image_tasks"

    task_id: Mapped[str] = mapped_column(Text, primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(Text, index=True)
    customer_name: Mapped[str | None] = mapped_column(Text)
    original_image: Mapped[str | None] = mapped_column(Text)
    operation: Mapped[str | None] = mapped_column(Text)
    requirements: Mapped[str | None] = mapped_column(Text)
    customer_notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(Text, index=True)
    created_at: Mapped[str | None] = mapped_column(Text, index=True)
    paid_at: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[str | None] = mapped_column(Text)
    result_image: Mapped[str | None] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
    retry_count: Mapped[int | None] = mapped_column(Integer, server_default=text("0"))
    acc_id: Mapped[str | None] = mapped_column(Text)
    acc_type: Mapped[str | None] = mapped_column(Text)
    # --- ai-cs extras ------------------------------------------------------------------------
    price_fen: Mapped[int | None] = mapped_column(Integer)
    quote: Mapped[str | None] = mapped_column(Text)
    risk: Mapped[str | None] = mapped_column(Text)
    conversation_id: Mapped[str | None] = mapped_column(Text)
    designer_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[str | None] = mapped_column(Text)


class TaskRequirementChange(Base):
    """需求变更表: one row per change a customer or staff member made."""

    __tablename__ = "task_requirement_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str | None] = mapped_column(Text, ForeignKey("image_tasks.task_id"), index=True)
    change_type: Mapped[str | None] = mapped_column(Text)
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str | None] = mapped_column(Text)


class Payment(Base):
    """Every payment event seen, once per payment id and shop, with what it did.

    A platform's order id is unique only inside one shop account, so the key is
    ``(platform, account_id, payment_id)``; payments from no marketplace have '' for both.
    """

    __tablename__ = "payments"

    platform: Mapped[str] = mapped_column(Text, primary_key=True, server_default=text("''"))
    account_id: Mapped[str] = mapped_column(Text, primary_key=True, server_default=text("''"))
    payment_id: Mapped[str] = mapped_column(Text, primary_key=True)
    task_id: Mapped[str | None] = mapped_column(Text, index=True)
    customer_id: Mapped[str | None] = mapped_column(Text)
    amount_fen: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[str] = mapped_column(Text)


class TaskIdSequence(Base):
    """Per-day counter behind ``TASK_YYYYMMDD_NNN`` ids."""

    __tablename__ = "task_id_sequences"

    day: Mapped[str] = mapped_column(Text, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class StaffAction(Base):
    """操作记录: one row per status change made by staff or a partner system."""

    __tablename__ = "staff_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(Text, index=True)
    action: Mapped[str] = mapped_column(Text)
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(Text)
