"""``Workflow``: the seed document's façade over the services.

Every call of the seed's 图片任务数据库 document runs here as written there: synchronous where the
seed calls synchronously, awaitable where it uses ``await``. Each call is one transaction opened
and committed here (the edge); the rules live in :mod:`ai_cs.tasks.service` and the pure core.
The HTTP API, the agent's tools, the gateway handler and the CLI all come through this class or
the same services, so they share one path to the rules.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, Unpack

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ai_cs.clock import Clock, SystemClock
from ai_cs.config import Settings, get_settings
from ai_cs.core.tasks import Actor, Operation, check_id
from ai_cs.db.database import Database
from ai_cs.db.migrate import upgrade
from ai_cs.jobs.backends import make_queue
from ai_cs.jobs.queue import JobQueue
from ai_cs.tasks import orders, service

T = TypeVar("T")

if TYPE_CHECKING:
    from ai_cs.imaging.report import PictureReport


class TaskFields(TypedDict, total=False):
    """The optional fields of a new task, as :meth:`Workflow.create_image_task` takes them."""

    customer_name: str | None
    requirements: Mapping[str, Any] | None
    customer_notes: str | None
    acc_id: str | None
    acc_type: str | None
    price_fen: int | None
    quote: Mapping[str, Any] | None
    risk: Mapping[str, Any] | None
    conversation_id: str | None
    task_id: str | None


class Workflow(AbstractContextManager["Workflow"]):
    """The shop's task workflow (seed: ``workflow``).

    ``Workflow()`` uses the configured database (``AICS_DATABASE_URL`` or SQLite in the data
    directory); ``Workflow(database_url=...)`` another one. The schema is migrated on first use.
    """

    def __init__(
        self,
        database_url: str | None = None,
        *,
        settings: Settings | None = None,
        clock: Clock | None = None,
        queue: JobQueue | None = None,
        db: Database | None = None,
        migrate: bool = True,
    ) -> None:
        self.settings = settings or get_settings()
        url = database_url or self.settings.resolved_database_url
        self.db = db or Database(url, busy_timeout_ms=self.settings.sqlite_busy_timeout_ms)
        self.clock: Clock = clock or SystemClock(self.settings.tz)
        self.queue: JobQueue = queue or make_queue(
            self.settings.queue_backend, self.clock, max_attempts=self.settings.job_max_attempts
        )
        if migrate:
            upgrade(self.db)

    # ------------------------------------------------------------------ plumbing
    def _write(self, fn: Callable[[Session], T]) -> T:
        return self.db.run_write(fn)

    def _read(self, fn: Callable[[Session], T]) -> T:
        with self.db.read() as session:
            return fn(session)

    def close(self) -> None:
        """Release database connections."""
        self.db.dispose()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ seed: creating tasks
    def image_analysis_result(
        self,
        customer_id: str,
        image_url: str,
        complexity: str,
        aspect_ratio: str,
        perspective: str,
        *,
        operation: str = Operation.ENHANCE.value,
        customer_name: str | None = None,
        customer_notes: str | None = None,
        acc_id: str | None = None,
        acc_type: str | None = None,
        price_fen: int | None = None,
        quote: Mapping[str, Any] | None = None,
        risk: Mapping[str, Any] | None = None,
        conversation_id: str | None = None,
        task_id: str | None = None,
        **analysis: Any,
    ) -> dict[str, Any]:
        """Create the pending task (待付款) for an analysed picture (seed scenario 1).

        ``complexity``, ``aspect_ratio``, ``perspective`` and any further analysis keywords are
        stored in the ``requirements`` JSON.
        """
        return self.create_image_task(
            customer_id,
            image_url,
            operation,
            customer_name=customer_name,
            requirements={
                "complexity": complexity,
                "aspect_ratio": aspect_ratio,
                "perspective": perspective,
                **analysis,
            },
            customer_notes=customer_notes,
            acc_id=acc_id,
            acc_type=acc_type,
            price_fen=price_fen,
            quote=quote,
            risk=risk,
            conversation_id=conversation_id,
            task_id=task_id,
        )

    def create_image_task(
        self,
        customer_id: str,
        original_image: str,
        operation: str = Operation.ENHANCE.value,
        **fields: Unpack[TaskFields],
    ) -> dict[str, Any]:
        """Create a task (seed: 创建任务) in ``pending`` and return it."""
        return self._write(
            lambda s: service.create_task(
                s,
                self.clock,
                customer_id=customer_id,
                original_image=original_image,
                operation=operation,
                **fields,
            )
        )

    def analyze_picture(
        self,
        customer_id: str,
        source: str,
        *,
        operation: str | None = None,
        request_text: str = "",
        customer_name: str | None = None,
        acc_id: str | None = None,
        acc_type: str | None = None,
        conversation_id: str | None = None,
    ) -> tuple[dict[str, Any] | None, PictureReport]:
        """Intake, analysis, risk and quote for a picture; the pending task when it is accepted.

        ``source`` is a URL (fetched safely) or a local path. A ``review`` or ``decline`` risk
        decision creates no task (``None``): a human looks first, or the order is not taken.
        """
        report = orders.analyse_picture(
            self.db,
            self.settings,
            source,
            customer_id=customer_id,
            operation=operation,
            request_text=request_text,
        )
        buyer = orders.Buyer(customer_id, conversation_id, customer_name, acc_id, acc_type)
        quoted = self._write(
            lambda s: orders.quote_picture(s, self.clock, report, source=source, buyer=buyer)
        )
        return (quoted.order.as_dict() if quoted.order else None), report

    # ------------------------------------------------------------------ seed: payment
    def record_payment(
        self,
        customer_id: str,
        task_id: str | None = None,
        payment_id: str | None = None,
        amount_fen: int | None = None,
    ) -> orders.Paid:
        """Apply a payment event and say what it did (the platform's payment, or staff's)."""

        def attempt() -> orders.Paid:
            return self._write(
                lambda s: orders.apply_payment(
                    s,
                    self.clock,
                    self.queue,
                    customer_id=customer_id,
                    task_id=task_id,
                    payment_id=payment_id,
                    amount_fen=amount_fen,
                )
            )

        try:
            return attempt()
        except IntegrityError:
            # A concurrent copy of the same payment id committed first: read its outcome.
            return attempt()

    def trigger_processing_on_payment(
        self,
        customer_id: str,
        task_id: str | None = None,
        payment_id: str | None = None,
        amount_fen: int | None = None,
    ) -> dict[str, Any]:
        """Customer paid (seed scenario 2): ``pending → paid → processing``; returns the task.

        Idempotent per ``payment_id``: the same id again changes nothing and returns the same
        task. A payment for a task that is not pending changes nothing and is recorded.
        """
        result = self.record_payment(customer_id, task_id, payment_id, amount_fen)
        if result.order is None:
            service.raise_no_pending(customer_id)
        assert result.order is not None
        return result.order.as_dict()

    # ------------------------------------------------------------------ seed: requirements
    def add_customer_requirement_sync(
        self, task_id: str, customer_id: str, requirement: str, *, changed_by: str = "customer"
    ) -> dict[str, Any]:
        """Synchronous form of :meth:`add_customer_requirement`."""
        by = self._caller(changed_by, customer_id)
        return self._write(
            lambda s: orders.add_note(s, self.clock, task_id, requirement, by)
        ).order.as_dict()

    async def add_customer_requirement(
        self, task_id: str, customer_id: str, requirement: str
    ) -> dict[str, Any]:
        """Customer adds a detail (seed scenario 3): a ``[MM-DD HH:MM] text`` note line."""
        return await asyncio.to_thread(
            self.add_customer_requirement_sync, task_id, customer_id, requirement
        )

    def add_requirement_detail(
        self,
        task_id: str,
        customer_id: str | None,
        key: str,
        value: str,
        *,
        changed_by: str = "customer",
    ) -> dict[str, Any]:
        """Set a structured requirement (size, colour, deadline …): an ``add_requirement`` row."""
        by = self._caller(changed_by, customer_id)
        return self._write(
            lambda s: orders.set_requirement(s, self.clock, task_id, key, value, by)
        ).order.as_dict()

    def modify_operation_sync(
        self,
        task_id: str,
        customer_id: str | None,
        new_operation: str,
        *,
        changed_by: str = "customer",
    ) -> dict[str, Any]:
        """Synchronous form of :meth:`modify_operation`."""
        by = self._caller(changed_by, customer_id)
        return self._write(
            lambda s: orders.change_operation(
                s, self.clock, self.settings.prices, task_id, new_operation, by
            )
        ).order.as_dict()

    async def modify_operation(
        self, task_id: str, customer_id: str, new_operation: str
    ) -> dict[str, Any]:
        """Customer changes the operation (seed scenario 4); only before payment."""
        return await asyncio.to_thread(
            self.modify_operation_sync, task_id, customer_id, new_operation
        )

    def add_staff_requirement(self, task_id: str, requirement: str) -> dict[str, Any]:
        """Staff adds a note to a task (``changed_by = staff``)."""
        by = orders.Caller(Actor.STAFF)
        return self._write(
            lambda s: orders.add_note(s, self.clock, task_id, requirement, by)
        ).order.as_dict()

    @staticmethod
    def _caller(changed_by: str, customer_id: object) -> orders.Caller:
        """The seed API's caller: limited to the customer's own orders when one is named."""
        owner = check_id("customer_id", customer_id) if customer_id is not None else None
        return orders.Caller(Actor(changed_by), customer_id=owner)

    # ------------------------------------------------------------------ seed: queries
    def get_task(self, task_id: str) -> dict[str, Any]:
        """One task (raises ``task_not_found`` when there is none)."""
        return self._read(lambda s: service.get_task(s, task_id))

    def get_customer_tasks(
        self, customer_id: str, status: str | None = None
    ) -> list[dict[str, Any]]:
        """The customer's tasks, newest first."""
        return self._read(
            lambda s: service.list_tasks(s, customer_id=customer_id, status=status, limit=1000)[0]
        )

    def get_task_requirement_history(self, task_id: str) -> list[dict[str, Any]]:
        """Requirement changes of a task, newest first (seed scenario 5)."""
        return self._read(lambda s: service.get_history(s, task_id))

    def list_tasks(
        self,
        *,
        status: str | None = None,
        customer_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """Tasks with filters, newest first, and the total count."""
        return self._read(
            lambda s: service.list_tasks(
                s, status=status, customer_id=customer_id, limit=limit, offset=offset
            )
        )

    # ------------------------------------------------------------------ after processing
    def confirm_task(self, task_id: str, customer_id: str | None = None) -> dict[str, Any]:
        """The customer (or staff) confirms the result: ``awaiting_confirm → completed``."""
        by = self._caller(Actor.CUSTOMER, customer_id)
        return self._write(lambda s: orders.confirm(s, self.clock, task_id, by)).as_dict()
