"""The shop's verbs (``tasks/orders.py``): each rule once, whoever calls it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from pydantic import ValidationError
from sqlalchemy import select

from ai_cs.conversations.models import Conversation
from ai_cs.core.pricing import Complexity, PriceTable
from ai_cs.core.risk import Decision, RiskAssessment, RiskReason
from ai_cs.core.tasks import Operation, TaskStatus
from ai_cs.errors import AicsError
from ai_cs.tasks import orders, service
from ai_cs.tasks.models import StaffAction, TaskRequirementChange
from ai_cs.tasks.schemas import EXTRA_TASK_COLUMNS, SEED_TASK_COLUMNS, Order
from ai_cs.workflow import Workflow
from factories import open_chat

ME = "buyer_1"
CHAT = "xianyu:shop_a:chat_1"


def _open(wf: Workflow, customer: str = ME, **kw: Any) -> str:
    kw.setdefault("price_fen", 2500)
    task = wf.create_image_task(customer, "https://x.example/p.png", "remove_bg", **kw)
    return str(task["task_id"])


def _delivered(wf: Workflow, customer: str = ME, **kw: Any) -> str:
    tid = _open(wf, customer, **kw)
    wf.record_payment(customer, tid, payment_id=f"pay-{tid}", amount_fen=2500)
    wf.db.run_write(
        lambda s: service.transition(
            s, wf.clock, tid, TaskStatus.AWAITING_CONFIRM, result_image="results/r.png"
        )
    )
    return tid


def _chat(wf: Workflow) -> None:
    wf.db.run_write(lambda s: open_chat(s, wf.clock, CHAT, ME))


def _staff_actions(wf: Workflow, tid: str) -> list[tuple[str, str, str | None]]:
    with wf.db.read() as s:
        rows = s.execute(select(StaffAction).where(StaffAction.task_id == tid)).scalars()
        return [(r.action, r.actor, r.to_status) for r in rows]


def test_an_order_is_every_seed_column_and_round_trips_the_seed_dict(workflow: Workflow) -> None:
    assert list(Order.model_fields) == list(SEED_TASK_COLUMNS + EXTRA_TASK_COLUMNS)
    task = workflow.get_task(_open(workflow, requirements={"size": "800x800"}))
    order = Order.of(task)
    assert order.as_dict() == task
    assert list(order.as_dict()) == list(SEED_TASK_COLUMNS + EXTRA_TASK_COLUMNS)
    assert order.details == {"size": "800x800"}
    with pytest.raises(ValidationError):
        order.status = "paid"  # type: ignore[misc]


def test_every_way_to_confirm_stamps_completed_at(workflow: Workflow) -> None:
    by_customer, by_staff, by_shop = (_delivered(workflow) for _ in range(3))
    done = workflow.confirm_task(by_customer, ME)
    staff_done = workflow.db.run_write(
        lambda s: orders.confirm(s, workflow.clock, by_staff, orders.Caller.staff("客服小王"))
    )
    shop_done = workflow.confirm_task(by_shop)
    for order in (Order.of(done), staff_done, Order.of(shop_done)):
        assert order.status == TaskStatus.COMPLETED
        assert order.completed_at is not None and order.completed_at >= str(order.paid_at)
    # Only the staff member's change is logged as a staff action, with who did it.
    assert _staff_actions(workflow, by_staff) == [("confirm", "客服小王", "completed")]
    assert _staff_actions(workflow, by_customer) == []


def test_a_customer_reaches_only_their_own_orders_and_staff_only_their_shops(
    workflow: Workflow,
) -> None:
    theirs = _delivered(workflow, "someone_else", acc_id="shop_b")
    with pytest.raises(AicsError) as info:
        workflow.db.run_write(
            lambda s: orders.confirm(s, workflow.clock, theirs, orders.Caller.customer(ME))
        )
    assert info.value.code == "not_task_owner"
    partner = orders.Caller.staff("partner", acc_ids=["shop_a"])
    with pytest.raises(AicsError) as info:
        workflow.db.run_write(lambda s: orders.refund(s, workflow.clock, theirs, partner))
    assert info.value.code == "task_not_found"
    assert workflow.get_task(theirs)["status"] == TaskStatus.AWAITING_CONFIRM
    assert _staff_actions(workflow, theirs) == []


def test_a_review_decision_opens_no_payable_order_and_flags_the_chat(
    workflow: Workflow, tmp_path: Path
) -> None:
    _chat(workflow)
    path = tmp_path / "product.png"
    img = Image.new("RGB", (640, 480), "white")
    ImageDraw.Draw(img).ellipse((160, 100, 480, 380), fill=(200, 60, 40))
    img.save(path)
    report = orders.analyse_picture(
        workflow.db, workflow.settings, str(path), customer_id=ME, operation="enhance"
    )
    assert report.risk.decision is Decision.ACCEPT
    review = report.model_copy(
        update={
            "risk": RiskAssessment(
                decision=Decision.REVIEW,
                reasons=[RiskReason(code="seal", message="图中有印章", decision=Decision.REVIEW)],
            )
        }
    )
    buyer = orders.Buyer(ME, CHAT)
    quoted = workflow.db.run_write(
        lambda s: orders.quote_picture(s, workflow.clock, review, source=str(path), buyer=buyer)
    )
    assert quoted.order is None and quoted.decision is Decision.REVIEW
    assert quoted.reasons == ["图中有印章"]
    assert workflow.get_customer_tasks(ME) == []
    with workflow.db.read() as s:
        chat = s.get(Conversation, CHAT)
        assert chat is not None and chat.needs_human == 1
        assert chat.needs_human_reason == f"{orders.REVIEW_LABEL}：图中有印章"

    accepted = workflow.db.run_write(
        lambda s: orders.quote_picture(s, workflow.clock, report, source=str(path), buyer=buyer)
    )
    assert accepted.order is not None and accepted.order.status == TaskStatus.PENDING
    assert accepted.order.price_fen == report.quote.total_fen
    # The stored copy of the picture goes with the order (designers and engines read it).
    assert accepted.order.details["stored_image"] == report.image.key
    assert accepted.order.details["image_sha256"] == report.image.sha256
    with workflow.db.read() as s:
        chat = s.get(Conversation, CHAT)
        assert chat is not None and chat.current_task_id == accepted.order.task_id


def test_a_change_of_operation_is_priced_from_the_configured_table(workflow: Workflow) -> None:
    tid = _open(workflow, requirements={"complexity": "simple"})
    table = PriceTable(base_fen={Operation.VECTORIZE: {Complexity.SIMPLE: 4321}})
    changed = workflow.db.run_write(
        lambda s: orders.change_operation(
            s, workflow.clock, table, tid, "vectorize", orders.Caller.customer(ME)
        )
    )
    assert not changed.unchanged and changed.previous.operation == "remove_bg"
    assert changed.order.operation == "vectorize" and changed.order.price_fen == 4321
    assert changed.order.quote["total_fen"] == 4321
    again = workflow.db.run_write(
        lambda s: orders.change_operation(
            s, workflow.clock, table, tid, "vectorize", orders.Caller.customer(ME)
        )
    )
    assert again.unchanged and again.order == changed.order


def test_a_risky_change_needs_a_person_and_changes_nothing(workflow: Workflow) -> None:
    _chat(workflow)
    tid = _open(workflow, conversation_id=CHAT)
    before = workflow.get_task(tid)
    changed = workflow.db.run_write(
        lambda s: orders.change_operation(
            s,
            workflow.clock,
            workflow.settings.prices,
            tid,
            "enhance",
            orders.Caller.customer(ME, CHAT),
            request_text="帮我把身份证上的名字改一下",
        )
    )
    assert changed.review and not changed.unchanged
    assert workflow.get_task(tid) == before
    with workflow.db.read() as s:
        chat = s.get(Conversation, CHAT)
        assert chat is not None and chat.needs_human == 1
        assert tid in str(chat.needs_human_reason)


def test_a_note_is_stored_once_per_chat_turn_but_every_time_from_the_seed_api(
    workflow: Workflow,
) -> None:
    _chat(workflow)
    tid = _open(workflow, conversation_id=CHAT)
    chat = orders.Caller.customer(ME, CHAT)
    first = workflow.db.run_write(lambda s: orders.add_note(s, workflow.clock, tid, "要高清", chat))
    again = workflow.db.run_write(lambda s: orders.add_note(s, workflow.clock, tid, "要高清", chat))
    assert not first.repeated and again.repeated and again.order == first.order
    workflow.add_customer_requirement_sync(tid, ME, "加急")
    workflow.add_customer_requirement_sync(tid, ME, "加急")
    with workflow.db.read() as s:
        notes = s.execute(
            select(TaskRequirementChange.new_value).where(TaskRequirementChange.task_id == tid)
        ).scalars()
        assert list(notes) == ["要高清", "加急", "加急"]


def test_the_platform_refunds_and_closes_by_its_own_order_id(workflow: Workflow) -> None:
    paid = _open(workflow)
    workflow.record_payment(ME, paid, payment_id="ORDER-1", amount_fen=2500)
    unpaid = _open(workflow, price_fen=1800)

    def close(order_id: str, amount: int | None) -> orders.Closed:
        return workflow.db.run_write(
            lambda s: orders.close_platform_order(
                s, workflow.clock, order_id=order_id, customer_id=ME, amount_fen=amount
            )
        )

    assert close("ORDER-1", 2500) == orders.Closed(None, paid_task_id=paid)
    assert close("ORDER-9", 999) == orders.Closed(None)
    closed = close("ORDER-2", 1800)
    assert closed.order is not None and closed.order.task_id == unpaid
    assert closed.order.status == TaskStatus.CANCELLED

    refunded = workflow.db.run_write(
        lambda s: orders.refund_platform_order(s, workflow.clock, "ORDER-1")
    )
    assert refunded is not None and refunded.task_id == paid
    assert workflow.get_task(paid)["status"] == TaskStatus.REFUNDED
    assert (
        workflow.db.run_write(lambda s: orders.refund_platform_order(s, workflow.clock, "NONE"))
        is None
    )


def test_a_revision_goes_to_a_designer_with_what_the_customer_wants(workflow: Workflow) -> None:
    tid = _delivered(workflow)
    handed = workflow.db.run_write(
        lambda s: orders.revise(
            s, workflow.clock, tid, " 边缘再细一点 ", orders.Caller.customer(ME)
        )
    )
    assert handed.status == TaskStatus.WITH_DESIGNER
    assert handed.designer_reason == f"{orders.REVISION_LABEL}：边缘再细一点"


def test_a_receipt_confirmed_on_the_platform_completes_the_order_once(
    workflow: Workflow,
) -> None:
    tid = _delivered(workflow)

    def confirm(order_id: str) -> Order | None:
        return workflow.db.run_write(
            lambda s: orders.confirm_platform_order(s, workflow.clock, order_id)
        )

    first = confirm(f"pay-{tid}")
    assert first is not None and first.status == TaskStatus.COMPLETED and first.completed_at
    assert confirm(f"pay-{tid}") == first  # the platform repeating itself changes nothing
    assert confirm("no-such-order") is None
    unpaid = _open(workflow)
    workflow.record_payment(ME, unpaid, payment_id="short", amount_fen=1)  # amount_mismatch
    assert confirm("short") is None
    assert workflow.get_task(unpaid)["status"] == TaskStatus.PENDING
