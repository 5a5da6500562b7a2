"""The pure task rules: transitions, operations, ids and requirement checks (no I/O)."""

from __future__ import annotations

import itertools

import pytest

from ai_cs.core import tasks as rules
from ai_cs.core.tasks import Operation, TaskStatus
from ai_cs.errors import AicsError

S = TaskStatus


def test_the_seed_flow_is_allowed_step_by_step() -> None:
    flow = [S.PENDING, S.PAID, S.PROCESSING, S.AWAITING_CONFIRM, S.COMPLETED]
    for prev, cur in itertools.pairwise(flow):
        rules.check_transition("T", prev, cur)
    rules.check_transition("T", S.PROCESSING, S.FAILED)


@pytest.mark.parametrize(("prev", "cur"), list(itertools.product(S, S)))
def test_every_pair_is_allowed_exactly_when_listed(prev: TaskStatus, cur: TaskStatus) -> None:
    if (prev, cur) in rules.TRANSITIONS:
        rules.check_transition("T", prev, cur)
    else:
        with pytest.raises(AicsError) as info:
            rules.check_transition("T", prev, cur)
        assert info.value.code == "invalid_transition"
        assert "'T'" in info.value.message


def test_terminal_statuses_lead_nowhere() -> None:
    assert not [pair for pair in rules.TRANSITIONS if pair[0] in rules.TERMINAL]


def test_payment_is_the_only_way_out_of_pending_except_cancelling() -> None:
    assert {cur for prev, cur in rules.TRANSITIONS if prev is S.PENDING} == {S.PAID, S.CANCELLED}
    assert rules.sources_of(S.PAID) == {S.PENDING}
    assert S.PENDING not in {cur for _, cur in rules.TRANSITIONS}


@pytest.mark.parametrize("status", list(S))
def test_requirements_and_operation_change_only_before_payment(status: TaskStatus) -> None:
    if status in rules.EDITABLE:
        rules.check_can_add_requirement("T", status)
        rules.check_can_modify_operation("T", status)
        return
    with pytest.raises(AicsError) as info:
        rules.check_can_modify_operation("T", status)
    assert info.value.code == "operation_locked_after_payment"
    with pytest.raises(AicsError) as info:
        rules.check_can_add_requirement("T", status)
    assert info.value.code == "requirements_locked_after_payment"


@pytest.mark.parametrize("op", ["enhance", "remove_bg", "vectorize", "remove_bg_and_layer"])
def test_seed_operations_parse(op: str) -> None:
    assert rules.parse_operation(op) is Operation(op)
    assert rules.parse_operation(f" {op} ").value == op


@pytest.mark.parametrize("bad", ["", "ENHANCE", "delete", None, 3, ["enhance"]])
def test_unknown_operations_are_refused(bad: object) -> None:
    with pytest.raises(AicsError) as info:
        rules.parse_operation(bad)
    assert info.value.code == "unknown_operation"


@pytest.mark.parametrize("status", [s.value for s in S])
def test_statuses_parse(status: str) -> None:
    assert rules.parse_status(status).value == status


def test_unknown_status_is_refused() -> None:
    with pytest.raises(AicsError) as info:
        rules.parse_status("lost")
    assert info.value.code == "unknown_status"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "empty_requirement"),
        ("  \n\t ", "empty_requirement"),
        ("\x00\x01", "empty_requirement"),
        ("字" * 2001, "requirement_too_long"),
        (None, "invalid_argument"),
        (12, "invalid_argument"),
        (b"bytes", "invalid_argument"),
    ],
)
def test_bad_requirements(value: object, code: str) -> None:
    with pytest.raises(AicsError) as info:
        rules.clean_requirement(value)
    assert info.value.code == code


def test_requirements_are_trimmed_and_control_characters_dropped() -> None:
    assert rules.clean_requirement("  需要去掉背景\x07 ") == "需要去掉背景"
    assert rules.clean_requirement("第一行\n第二行") == "第一行\n第二行"
    assert rules.clean_requirement("字" * 2000) == "字" * 2000


@pytest.mark.parametrize("bad", [None, 5, "", "   ", "x" * 129, "a\x00b", ["a"]])
def test_bad_ids(bad: object) -> None:
    with pytest.raises(AicsError) as info:
        rules.check_id("task_id", bad)
    assert info.value.code == "invalid_argument"


def test_ids_are_trimmed() -> None:
    assert rules.check_id("task_id", " TASK_1 ") == "TASK_1"


def test_note_lines_follow_the_seed() -> None:
    line = rules.format_note_line("02-27 18:00", "需要去掉背景")
    assert line == "[02-27 18:00] 需要去掉背景"
    assert rules.append_note(None, line) == line
    assert rules.append_note("", line) == line
    assert rules.append_note("[02-27 17:00] 先", line) == "[02-27 17:00] 先\n" + line


def test_task_ids_follow_the_seed() -> None:
    assert rules.format_task_id("20260227", 1) == "TASK_20260227_001"
    assert rules.format_task_id("20260227", 42) == "TASK_20260227_042"
    assert rules.format_task_id("20260227", 1234) == "TASK_20260227_1234"
    with pytest.raises(AicsError):
        rules.format_task_id("20260227", 0)
