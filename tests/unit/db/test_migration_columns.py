"""The migrations' column helpers are frozen: each returns exactly the columns written here.

A migration that ran once must build the same schema on every later install, so a change to a
helper used by a migration is a bug (a new group gets a new helper instead).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ai_cs.db.migrations import columns as col


def _spec(column: sa.Column[Any]) -> tuple[str, str, bool, str | None, object]:
    default = column.server_default
    text = str(default.arg.text) if isinstance(default, sa.DefaultClause) else None
    return (
        column.name,
        type(column.type).__name__,
        bool(column.nullable),
        text,
        column.autoincrement,
    )


def test_type_groups() -> None:
    assert [_spec(c) for c in col.texts("a", "b")] == [
        ("a", "Text", True, None, "auto"),
        ("b", "Text", True, None, "auto"),
    ]
    assert [_spec(c) for c in col.texts("c", nullable=False)] == [
        ("c", "Text", False, None, "auto")
    ]
    assert [_spec(c) for c in col.reals("r")] == [("r", "Float", True, None, "auto")]
    assert [_spec(c) for c in col.reals("s", nullable=False)] == [
        ("s", "Float", False, None, "auto")
    ]
    assert [_spec(c) for c in col.integers("i")] == [("i", "Integer", True, None, "auto")]
    assert [_spec(c) for c in col.integers("j", nullable=False)] == [
        ("j", "Integer", False, None, "auto")
    ]


def test_counters_and_keys() -> None:
    assert _spec(col.counter("k")) == ("k", "Integer", False, "0", "auto")
    assert _spec(col.counter("m", 3)) == ("m", "Integer", False, "3", "auto")
    assert _spec(col.serial_id()) == ("id", "Integer", False, None, True)
    keyed = col.serial_table("t", *col.texts("a"))
    assert [_spec(c) for c in keyed.items] == [
        ("id", "Integer", False, None, True),
        ("a", "Text", True, None, "auto"),
    ]
    assert keyed.primary_key == ("id",)


def test_relay_groups() -> None:
    retry = [
        ("status", "Text", False, None, "auto"),
        ("attempts", "Integer", False, "0", "auto"),
        ("next_attempt_at", "Float", False, None, "auto"),
    ]
    assert [_spec(c) for c in col.retry_columns()] == retry
    assert [_spec(c) for c in col.outbox_columns()] == [
        *retry,
        ("last_error", "Text", True, None, "auto"),
        ("created_at", "Text", False, None, "auto"),
        ("sent_at", "Text", True, None, "auto"),
    ]
