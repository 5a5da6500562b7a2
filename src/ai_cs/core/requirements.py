"""What a customer asked the result to be (交付要求): background, pixel size, file size, format.

The same structure comes from ``aics process --require KEY=VALUE`` and from an order (the
``output`` object inside the task's ``requirements`` JSON); engines apply it and their quality
checks verify the result against it. Pure: parsing and validation only.

Keys (CONTRACT §1): ``background=white|transparent|blue|red|#rrggbb``, ``size=WxH`` (pixels; the
standard photo sizes ``1寸``/``2寸``/``小一寸``/``小二寸``/``大一寸`` are accepted too),
``max_kb=N`` / ``min_kb=N``, ``format=png|jpg|svg|pdf|eps|psd``, and ``fit=crop|pad|stretch``
(how a picture is brought to an exact size; ``crop`` keeps the proportions and cuts the overflow).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ai_cs.errors import InvalidArgument

COLOURS: Final[dict[str, tuple[int, int, int]]] = {
    "white": (255, 255, 255),
    "blue": (67, 142, 219),  # the usual 证件照 blue
    "red": (255, 0, 0),
    "grey": (230, 230, 230),
    "gray": (230, 230, 230),
}
"""Named background colours (RGB)."""

COLOUR_WORDS: Final[dict[str, str]] = {
    "白": "white",
    "白色": "white",
    "白底": "white",
    "蓝": "blue",
    "蓝色": "blue",
    "蓝底": "blue",
    "红": "red",
    "红色": "red",
    "红底": "red",
    "灰": "grey",
    "灰底": "grey",
    "透明": "transparent",
    "透明底": "transparent",
}
"""How buyers name them."""

PHOTO_SIZES: Final[dict[str, tuple[int, int]]] = {
    "1寸": (295, 413),
    "一寸": (295, 413),
    "2寸": (413, 579),
    "二寸": (413, 579),
    "小一寸": (260, 378),
    "小二寸": (413, 531),
    "大一寸": (390, 567),
}
"""Standard photo sizes in pixels at 300 DPI (证件照)."""

FORMATS: Final = ("png", "jpg", "svg", "pdf", "eps", "psd")
MAX_SIDE: Final = 10_000
"""Largest side an output may be asked to have."""

_SIZE = re.compile(r"^\s*(\d{1,5})\s*[x×X*]\s*(\d{1,5})\s*(?:px)?\s*$")
_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")

Fit = Literal["crop", "pad", "stretch"]


class Requirements(BaseModel):
    """The deliverable's requirements; every field optional (``None`` = the engine decides)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    background: str | None = None
    """``transparent``, a named colour or ``#rrggbb`` (normalised to lower-case hex or a name)."""
    size: tuple[int, int] | None = None
    """Exact output pixels ``(width, height)``."""
    max_kb: int | None = Field(None, ge=1, le=100_000)
    min_kb: int | None = Field(None, ge=1, le=100_000)
    format: Literal["png", "jpg", "svg", "pdf", "eps", "psd"] | None = None
    fit: Fit = "crop"

    @field_validator("background", mode="before")
    @classmethod
    def _colour(cls, value: object) -> object:
        if value is None or value == "":
            return None
        text = str(value).strip().lower()
        text = COLOUR_WORDS.get(text, text)
        if text == "transparent" or text in COLOURS:
            return text
        match = _HEX.match(text)
        if match:
            return f"#{match.group(1).lower()}"
        raise ValueError(
            f"unknown background {value!r}: use white, transparent, blue, red or #rrggbb"
        )

    @field_validator("size", mode="before")
    @classmethod
    def _size(cls, value: object) -> object:
        if value is None or value == "":
            return None
        if isinstance(value, str):
            named = PHOTO_SIZES.get(value.strip())
            if named is not None:
                return named
            match = _SIZE.match(value)
            if not match:
                raise ValueError(f"size {value!r} is not WIDTHxHEIGHT in pixels (e.g. 800x800)")
            return (int(match.group(1)), int(match.group(2)))
        return value

    @field_validator("size")
    @classmethod
    def _size_bounds(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and not all(1 <= side <= MAX_SIDE for side in value):
            raise ValueError(f"size {value[0]}x{value[1]} must be 1..{MAX_SIDE} on each side")
        return value

    @field_validator("format", mode="before")
    @classmethod
    def _format(cls, value: object) -> object:
        if value is None or value == "":
            return None
        text = str(value).strip().lower().lstrip(".")
        return "jpg" if text == "jpeg" else text

    @model_validator(mode="after")
    def _range(self) -> Requirements:
        if self.max_kb is not None and self.min_kb is not None and self.min_kb > self.max_kb:
            raise ValueError(f"min_kb {self.min_kb} is larger than max_kb {self.max_kb}")
        return self

    # ------------------------------------------------------------------ reading and writing
    @classmethod
    def parse_pairs(cls, pairs: Iterable[str]) -> Requirements:
        """From ``KEY=VALUE`` strings (``aics process --require``); else InvalidArgument."""
        values: dict[str, str] = {}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            key = key.strip().lower()
            if not sep or not key:
                raise InvalidArgument(f"requirement {pair!r} is not KEY=VALUE")
            if key not in cls.model_fields:
                known = ", ".join(cls.model_fields)
                raise InvalidArgument(f"unknown requirement {key!r}; known: {known}")
            values[key] = value.strip()
        return cls.of(values)

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Requirements:
        """From a mapping; :class:`InvalidArgument` naming the first bad value."""
        try:
            return cls.model_validate(dict(values))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "requirements"
            raise InvalidArgument(f"{where}: {first['msg']}") from exc

    @classmethod
    def from_task(cls, requirements: Mapping[str, Any] | None) -> Requirements:
        """The requirements an order holds (``requirements.output``); empty when it has none.

        A stored value that no longer validates is dropped rather than failing the job: the
        engine then decides, and the note the customer wrote stays with the task for staff.
        """
        output = (requirements or {}).get("output")
        if not isinstance(output, Mapping):
            return cls()
        kept: dict[str, Any] = {}
        for key, value in output.items():
            if key in cls.model_fields:
                try:
                    cls.model_validate({key: value})
                except ValidationError:
                    continue
                kept[key] = value
        try:
            return cls.model_validate(kept)
        except ValidationError:
            return cls()

    def to_json(self) -> dict[str, Any]:
        """The fields that are set, JSON-ready (what ``requirements.output`` stores)."""
        data = self.model_dump(exclude_defaults=True)
        if self.size is not None:
            data["size"] = f"{self.size[0]}x{self.size[1]}"
        return data

    @property
    def is_empty(self) -> bool:
        """Nothing was asked."""
        return not self.to_json()

    def rgb(self) -> tuple[int, int, int] | None:
        """The background as RGB; ``None`` for transparent or unset."""
        if self.background is None or self.background == "transparent":
            return None
        if self.background in COLOURS:
            return COLOURS[self.background]
        value = self.background.lstrip("#")
        return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))

    def size_range_bytes(self) -> tuple[int | None, int | None]:
        """``(min, max)`` file size in bytes (1 KB = 1024 bytes, as upload forms count)."""
        return (
            None if self.min_kb is None else self.min_kb * 1024,
            None if self.max_kb is None else self.max_kb * 1024,
        )


_DETAIL_COLOURS: Final[dict[str, str]] = {
    "白色背景": "white",
    "白色": "white",
    "蓝色背景": "blue",
    "蓝色": "blue",
    "红色背景": "red",
    "红色": "red",
    "灰色背景": "grey",
    "灰色": "grey",
    "透明背景": "transparent",
}


def output_from_detail(key: str, value: str) -> dict[str, Any]:
    """The structured requirement a detail the chat recorded stands for (may be empty).

    The chat records details in the buyer's words (``size=800×800像素``, ``colour=白色背景``);
    the engines need them as :class:`Requirements` fields. A detail that is not a size or
    background the engines can apply (A4, 黑色, "尽快") gives nothing: it stays a note for staff.
    """
    text = value.strip()
    candidate: dict[str, Any]
    if key == "size":
        candidate = {"size": re.sub(r"(像素|px)$", "", text, flags=re.IGNORECASE)}
    elif key == "colour":
        candidate = {"background": _DETAIL_COLOURS.get(text, text)}
    elif key in Requirements.model_fields:
        candidate = {key: text}
    else:
        return {}
    try:
        return Requirements.model_validate(candidate).to_json()
    except ValidationError:
        return {}
