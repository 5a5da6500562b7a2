"""Copying a row into a record: same-named attributes, computed fields passed in."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from ai_cs.core.records import pick, record


@dataclass(frozen=True)
class View:
    id: int
    name: str
    paused: bool
    tags: list[str] = field(default_factory=list, init=False)


def test_record_copies_fields_and_takes_computed_ones() -> None:
    row = SimpleNamespace(id=7, name="shop", paused=1, extra="not a field")
    view = record(View, row, paused=bool(row.paused))
    assert view == View(id=7, name="shop", paused=True)
    assert view.paused is True
    assert view.tags == []


def test_record_names_a_missing_attribute() -> None:
    with pytest.raises(AttributeError, match="name"):
        record(View, SimpleNamespace(id=1, paused=False))


def test_pick_keeps_the_order_of_names() -> None:
    row = SimpleNamespace(a=1, b=2, c=3)
    assert list(pick(row, "c", "a").items()) == [("c", 3), ("a", 1)]
    assert pick(row) == {}
