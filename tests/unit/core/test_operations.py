"""The operations registry: every operation is one complete row, and every layer reads it."""

from __future__ import annotations

import importlib
import typing

import pytest

from ai_cs.agent.tools import OperationName
from ai_cs.api.console import OPERATION_LABELS as CONSOLE_LABELS
from ai_cs.core.operations import OPERATIONS, customer_label, designer_label, staff_label
from ai_cs.core.pricing import OPERATION_LABELS, Complexity, PriceTable
from ai_cs.core.tasks import Operation
from ai_cs.dispatch.results import ACCEPTED_KINDS
from ai_cs.dispatch.rules import OPERATION_LABELS as DESIGNER_LABELS
from ai_cs.engines import get_engine


@pytest.mark.parametrize("operation", list(Operation))
def test_every_operation_has_a_complete_row(operation: Operation) -> None:
    spec = OPERATIONS[operation]
    assert spec.operation is operation
    assert spec.customer_label and spec.staff_label and spec.designer_label
    assert spec.result_kinds and spec.result_kinds <= {
        "png",
        "jpeg",
        "webp",
        "svg",
        "pdf",
        "eps",
        "psd",
    }
    simple, normal, complex_ = spec.prices_fen
    assert 0 < simple <= normal <= complex_
    assert spec.phrases and all(p == p.strip() and p for p in spec.phrases)
    module, _, name = spec.engine.partition(":")
    assert hasattr(importlib.import_module(module), name), spec.engine


@pytest.mark.parametrize("operation", list(Operation))
def test_every_layer_reads_the_row(operation: Operation) -> None:
    spec = OPERATIONS[operation]
    assert OPERATION_LABELS[operation] == customer_label(operation) == spec.customer_label
    assert CONSOLE_LABELS[operation.value] == staff_label(operation) == spec.staff_label
    assert DESIGNER_LABELS[operation.value] == designer_label(operation) == spec.designer_label
    assert ACCEPTED_KINDS[operation] == spec.result_kinds
    listed = PriceTable().base_fen[operation]
    assert tuple(listed[level] for level in Complexity) == spec.prices_fen
    assert get_engine(operation).operation is operation


def test_the_agent_tools_offer_every_operation() -> None:
    assert set(typing.get_args(OperationName)) == {op.value for op in Operation}


def test_unknown_values_keep_their_name() -> None:
    assert customer_label("teleport") == "teleport"
    assert OPERATIONS.keys() == set(Operation)
