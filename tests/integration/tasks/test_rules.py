"""The seed's rules under bad input, payments and restarts: a domain error, and nothing changed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ai_cs.db.models import Job
from ai_cs.errors import AicsError
from ai_cs.tasks.models import Payment, TaskRequirementChange
from ai_cs.workflow import Workflow

pytestmark = pytest.mark.anyio


def _new(workflow: Workflow, customer: str = "customer_123", **kw: Any) -> dict[str, Any]:
    return workflow.create_image_task(
        customer_id=customer,
        original_image="https://xxx.com/image.jpg",
        operation=kw.pop("operation", "enhance"),
        **kw,
    )


def _snapshot(workflow: Workflow, task_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    return workflow.get_task(task_id), workflow.get_task_requirement_history(task_id)


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (
            lambda w, t: w.modify_operation_sync(t, "customer_123", "paint_it_blue"),
            "unknown_operation",
        ),
        (lambda w, t: w.modify_operation_sync(t, "customer_456", "vectorize"), "not_task_owner"),
        (lambda w, t: w.add_customer_requirement_sync(t, "customer_456", "x"), "not_task_owner"),
        (
            lambda w, t: w.add_customer_requirement_sync("TASK_20990101_001", "customer_123", "x"),
            "task_not_found",
        ),
        (
            lambda w, t: w.add_customer_requirement_sync(t, "customer_123", "   "),
            "empty_requirement",
        ),
        (
            lambda w, t: w.add_customer_requirement_sync(t, "customer_123", "长" * 100_000),
            "requirement_too_long",
        ),
        (lambda w, t: w.add_customer_requirement_sync(t, 123, "x"), "invalid_argument"),
        (
            lambda w, t: w.add_customer_requirement_sync(["TASK"], "customer_123", "x"),
            "invalid_argument",
        ),
        (lambda w, t: w.add_customer_requirement_sync(t, "customer_123", None), "invalid_argument"),
        (
            lambda w, t: w.modify_operation_sync(t, None and "x" or 5, "vectorize"),
            "invalid_argument",
        ),
        (lambda w, t: w.get_task(None), "invalid_argument"),
        (lambda w, t: w.get_task("TASK_404"), "task_not_found"),
        (
            lambda w, t: w.trigger_processing_on_payment(
                "customer_123", task_id=t, amount_fen="10"
            ),
            "invalid_argument",
        ),
        (lambda w, t: w.trigger_processing_on_payment("customer_456", task_id=t), "not_task_owner"),
        (lambda w, t: w.create_image_task("c", "https://x/y.jpg", "teleport"), "unknown_operation"),
        (lambda w, t: w.create_image_task("", "https://x/y.jpg", "enhance"), "invalid_argument"),
        (lambda w, t: w.get_customer_tasks("customer_123", status="lost"), "unknown_status"),
    ],
)
def test_bad_input_gets_a_domain_error_and_changes_nothing(workflow: Workflow, call, code) -> None:
    task = _new(workflow)
    before = _snapshot(workflow, task["task_id"])
    with pytest.raises(AicsError) as info:
        call(workflow, task["task_id"])
    assert info.value.code == code
    assert _snapshot(workflow, task["task_id"]) == before
    with workflow.db.read() as s:
        assert s.execute(select(func.count()).select_from(Payment)).scalar_one() == 0


async def test_operation_and_notes_are_locked_after_payment(workflow: Workflow) -> None:
    task = _new(workflow)
    tid = task["task_id"]
    workflow.trigger_processing_on_payment("customer_123", task_id=tid, payment_id="P1")
    before = _snapshot(workflow, tid)
    with pytest.raises(AicsError) as info:
        await workflow.modify_operation(tid, "customer_123", "vectorize")
    assert info.value.code == "operation_locked_after_payment"
    with pytest.raises(AicsError) as info:
        await workflow.add_customer_requirement(tid, "customer_123", "还要白底")
    assert info.value.code == "requirements_locked_after_payment"
    assert _snapshot(workflow, tid) == before


def test_payment_is_applied_once_per_payment_id(workflow: Workflow) -> None:
    task = _new(workflow, price_fen=3000)
    tid = task["task_id"]
    first = workflow.trigger_processing_on_payment(
        "customer_123", payment_id="ORDER-1", amount_fen=3000
    )
    assert first["task_id"] == tid and first["status"] == "processing"
    for _ in range(4):
        again = workflow.trigger_processing_on_payment(
            "customer_123", payment_id="ORDER-1", amount_fen=3000
        )
        assert again == first
    with workflow.db.read() as s:
        assert s.execute(select(func.count()).select_from(Payment)).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(Job)).scalar_one() == 1


def test_payment_for_a_task_that_is_not_pending_is_recorded_and_changes_nothing(
    workflow: Workflow,
) -> None:
    tid = _new(workflow)["task_id"]
    workflow.trigger_processing_on_payment("customer_123", task_id=tid, payment_id="A")
    before = workflow.get_task(tid)
    after = workflow.trigger_processing_on_payment("customer_123", task_id=tid, payment_id="B")
    assert after == before
    with workflow.db.read() as s:
        outcomes = dict(s.execute(select(Payment.payment_id, Payment.outcome)).all())
    assert outcomes == {"A": "applied", "B": "ignored_not_pending"}


def test_payment_with_the_wrong_amount_leaves_the_task_pending(workflow: Workflow) -> None:
    tid = _new(workflow, price_fen=6800)["task_id"]
    result = workflow.record_payment("customer_123", payment_id="X", amount_fen=100)
    assert result.outcome == "amount_mismatch"
    assert workflow.get_task(tid)["status"] == "pending"


def test_payment_without_a_pending_task_is_recorded_then_refused(workflow: Workflow) -> None:
    with pytest.raises(AicsError) as info:
        workflow.trigger_processing_on_payment("nobody", payment_id="LOST-1", amount_fen=500)
    assert info.value.code == "no_pending_task"
    with workflow.db.read() as s:
        assert s.get(Payment, ("", "", "LOST-1")).outcome == "unmatched"


def test_payment_picks_the_task_whose_quote_matches(workflow: Workflow) -> None:
    a = _new(workflow, price_fen=1000)["task_id"]
    _new(workflow, price_fen=2000)
    paid = workflow.trigger_processing_on_payment("customer_123", amount_fen=1000)
    assert paid["task_id"] == a


def test_task_ids_follow_the_day_and_sequence(fixed_workflow: Workflow) -> None:
    ids = [_new(fixed_workflow)["task_id"] for _ in range(3)]
    assert ids == ["TASK_20260227_001", "TASK_20260227_002", "TASK_20260227_003"]


def test_confirm_completes_only_after_delivery(workflow: Workflow) -> None:
    tid = _new(workflow)["task_id"]
    with pytest.raises(AicsError) as info:
        workflow.confirm_task(tid, "customer_123")
    assert info.value.code == "invalid_transition"


def test_every_change_is_a_history_row(workflow: Workflow) -> None:
    tid = _new(workflow)["task_id"]
    workflow.add_customer_requirement_sync(tid, "customer_123", "一")
    workflow.add_staff_requirement(tid, "二")
    workflow.add_requirement_detail(tid, "customer_123", "size", "A4")
    workflow.modify_operation_sync(tid, "customer_123", "remove_bg")
    history = workflow.get_task_requirement_history(tid)
    assert [(h["change_type"], h["changed_by"]) for h in history] == [
        ("modify_operation", "customer"),
        ("add_requirement", "customer"),
        ("add_note", "staff"),
        ("add_note", "customer"),
    ]
    assert history[2]["old_value"].endswith("一")
    assert workflow.get_task(tid)["requirements"]["size"] == "A4"
    with workflow.db.read() as s:
        assert s.execute(select(func.count()).select_from(TaskRequirementChange)).scalar_one() == 4


def test_a_task_survives_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ai_cs.db'}"
    env = {**os.environ, "AICS_DATABASE_URL": url}
    code = (
        "from ai_cs import Workflow; w = Workflow();"
        "t = w.create_image_task('c1', 'https://x/y.jpg', 'enhance');"
        "print(t['task_id'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    task_id = out.stdout.strip()
    read = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from ai_cs import Workflow; print(Workflow().get_task('{task_id}')['status'])",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert read.stdout.strip() == "pending"


def test_db_upgrade_twice_is_a_no_op(tmp_path: Path) -> None:
    env = {**os.environ, "AICS_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    cmd = [sys.executable, "-m", "ai_cs", "db", "upgrade"]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    assert first.stdout.startswith("database created (revision ")
    assert len(first.stdout.splitlines()) == 1  # one line, however long the revision list
    assert "nothing to do" in second.stdout and len(second.stdout.splitlines()) == 1


async def test_the_quote_follows_an_operation_change(workflow: Workflow) -> None:
    from ai_cs.core.quoting import requote
    from ai_cs.core.tasks import Operation

    requirements = {"complexity": "simple", "width": 800, "height": 600, "text_found": False}
    task = workflow.create_image_task(
        "customer_123",
        "https://xxx.com/a.jpg",
        "enhance",
        requirements=requirements,
        price_fen=requote(requirements, Operation.ENHANCE).total_fen,
    )
    changed = await workflow.modify_operation(task["task_id"], "customer_123", "vectorize")
    expected = requote(requirements, Operation.VECTORIZE).total_fen
    assert changed["price_fen"] == expected != task["price_fen"]
    assert changed["quote"]["operation"] == "vectorize"
    assert changed["quote"]["total_fen"] == expected


async def test_configured_prices_are_used_for_requotes(database_url: str, tmp_path) -> None:
    from ai_cs.config import Settings
    from ai_cs.core.pricing import PriceTable

    table = PriceTable.model_validate(
        {
            "base_fen": {
                op: {"simple": 111, "normal": 222, "complex": 333}
                for op in ("enhance", "remove_bg", "vectorize", "remove_bg_and_layer")
            }
        }
    )
    wf = Workflow(
        database_url=database_url,
        settings=Settings(data_dir=tmp_path, prices=table, _env_file=None),
    )
    task = wf.create_image_task(
        "c",
        "https://xxx.com/a.jpg",
        "enhance",
        requirements={"complexity": "normal"},
        price_fen=222,
    )
    changed = await wf.modify_operation(task["task_id"], "c", "vectorize")
    assert changed["price_fen"] == 222


def test_prices_come_from_the_environment(monkeypatch) -> None:
    from ai_cs.config import Settings

    monkeypatch.setenv("AICS_PRICES", '{"rush_fen": 1500}')
    prices = Settings(_env_file=None).prices
    assert prices.rush_fen == 1500
    assert prices.text_band_min_fen == 6000
