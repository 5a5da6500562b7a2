"""Copying a stored row into a plain record: one place for the field-by-field copies.

A service hands out frozen dataclasses and dicts, not ORM rows (a row is tied to its session).
:func:`record` fills a dataclass from the same-named attributes of a row, :func:`pick` builds a
dict from named attributes; the caller passes only the values it computes (decoded JSON, a flag
turned into a bool).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    RecordT = TypeVar("RecordT", bound=DataclassInstance)
else:
    RecordT = TypeVar("RecordT")


def record(cls: type[RecordT], row: object, **computed: Any) -> RecordT:
    """A ``cls`` whose fields come from ``row``'s attributes of the same name.

    ``computed`` gives the fields that are not a plain copy; every other field must be an
    attribute of ``row`` (an ``AttributeError`` names the missing one).
    """
    copied = {
        f.name: getattr(row, f.name)
        for f in dataclasses.fields(cls)
        if f.init and f.name not in computed
    }
    return cls(**copied, **computed)


def pick(row: object, *names: str) -> dict[str, Any]:
    """``{name: row.<name>}`` for each of ``names``, in that order."""
    return {name: getattr(row, name) for name in names}
