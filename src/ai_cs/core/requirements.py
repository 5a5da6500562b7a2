"""What a customer asked the result to be (交付要求): background, size, print size, file, format.

The same structure comes from ``aics process --require KEY=VALUE`` and from an order (the
``output`` object inside the task's ``requirements`` JSON, which the chat fills from what the
buyer says); engines apply it and their quality checks verify the written file against it.
Pure: parsing and validation only.

Keys, as stored in ``requirements.output`` and given to ``--require`` (every key optional;
CONTRACT §1 fixes the first five, the others were added without changing those):

``background``
    ``white`` | ``transparent`` | ``blue`` | ``red`` | ``grey`` | ``#rrggbb`` (also ``ff8800``
    and the buyer's words 白底/蓝底/红底/灰底/透明底). Stored as the name or lower-case ``#rrggbb``.
    Cut-outs are flattened onto it; a vector gets a background of that colour; a layered PSD a
    colour layer under the subject; an ID photo is composed on it.
``size``
    Exact output pixels ``WxH`` (``800x800``, ``800*600``, ``800×600px``), or a standard ID photo
    size (``1寸`` ``2寸`` ``小一寸`` ``小二寸`` ``大一寸``, pixels at 300 DPI). Stored as ``"WxH"``.
``max_kb`` / ``min_kb``
    File size range in KB (1 KB = 1024 bytes, as upload forms count). Integers 1..100000.
``format``
    ``png`` | ``jpg`` | ``svg`` | ``pdf`` | ``eps`` | ``psd`` (``jpeg`` means ``jpg``). Several
    may be given (``svg,pdf``, ``svg+eps``, a JSON list): the first is stored as ``format``, the
    rest as ``extra_formats``, and the order is delivered as a ZIP holding one file per format.
``extra_formats``
    The further formats of a several-format order (a list; normally written through ``format``).
``fit``
    ``crop`` (default: keep the proportions, cut the overflow) | ``pad`` (keep everything, fill
    the bars with the background colour) | ``stretch`` — how a picture is brought to an exact
    pixel or print size.
``print``
    A print size: a photo print ``5寸`` ``6寸`` ``7寸`` ``8寸`` ``10寸`` ``12寸`` (五寸…十二寸),
    a paper size ``A3`` ``A4`` ``A5`` ``A6`` ``B5``, an ID photo size (``1寸`` …), or explicit
    ``10x15cm`` / ``100x150mm`` / ``4x6in``. With ``dpi`` (300 when not given) it decides the
    pixels, and the DPI is written into the file. Named photo and paper sizes turn with the
    picture (a landscape photo is printed landscape); ID photo and explicit sizes are taken as
    written. Stored as the canonical name (``5寸``, ``A4``) or ``WxH`` with its unit
    (``10x15cm``). Not together with ``size``: one says pixels, the other paper.
``dpi``
    Dots per inch stored in the file (72..1200); with ``print`` it also sets the pixels.
``quality``
    JPEG quality 10..100 of a JPEG deliverable (with ``max_kb`` the highest quality tried).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

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

MM_PER_INCH: Final = 25.4
DEFAULT_DPI: Final = 300
"""DPI of a print size given without one (what photo labs and printers expect)."""

ID_PHOTO_MM: Final[dict[str, tuple[float, float]]] = {
    "1寸": (25, 35),
    "一寸": (25, 35),
    "2寸": (35, 49),
    "二寸": (35, 49),
    "小一寸": (22, 32),
    "小二寸": (35, 45),
    "大一寸": (33, 48),
}
"""Standard ID photo sizes (证件照) in millimetres, always portrait."""


def mm_to_px(mm: float, dpi: int) -> int:
    """Pixels of ``mm`` at ``dpi`` (at least 1)."""
    return max(1, round(mm / MM_PER_INCH * dpi))


PHOTO_SIZES: Final[dict[str, tuple[int, int]]] = {
    name: (mm_to_px(w, DEFAULT_DPI), mm_to_px(h, DEFAULT_DPI))
    for name, (w, h) in ID_PHOTO_MM.items()
}
"""Standard ID photo sizes in pixels at 300 DPI (1寸 = 295×413)."""

PRINT_SIZES_MM: Final[dict[str, tuple[float, float]]] = {
    "5寸": (89, 127),
    "6寸": (102, 152),
    "7寸": (127, 178),
    "8寸": (152, 203),
    "10寸": (203, 254),
    "12寸": (254, 305),
    "A3": (297, 420),
    "A4": (210, 297),
    "A5": (148, 210),
    "A6": (105, 148),
    "B5": (176, 250),
}
"""Photo prints (冲印: 5寸 is 3.5×5 in) and paper sizes in millimetres, portrait; they turn with
the picture."""

_PRINT_ALIASES: Final[dict[str, str]] = {
    "五寸": "5寸",
    "六寸": "6寸",
    "七寸": "7寸",
    "八寸": "8寸",
    "十寸": "10寸",
    "十二寸": "12寸",
}

FORMATS: Final = ("png", "jpg", "svg", "pdf", "eps", "psd")
MAX_SIDE: Final = 10_000
"""Largest side an output may be asked to have, in pixels (also for a print size at its DPI)."""

_SIZE = re.compile(r"^\s*(\d{1,5})\s*[x×X*]\s*(\d{1,5})\s*(?:px)?\s*$")
_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")
_PHYSICAL = re.compile(
    r"^\s*(\d{1,4}(?:\.\d{1,2})?)\s*[x×X*]\s*(\d{1,4}(?:\.\d{1,2})?)\s*"
    r"(mm|cm|in|inch|inches|毫米|厘米|公分|英寸)\s*$",
    re.IGNORECASE,
)
_UNITS: Final[dict[str, tuple[str, float]]] = {
    "mm": ("mm", 1.0),
    "毫米": ("mm", 1.0),
    "cm": ("cm", 10.0),
    "厘米": ("cm", 10.0),
    "公分": ("cm", 10.0),
    "in": ("in", MM_PER_INCH),
    "inch": ("in", MM_PER_INCH),
    "inches": ("in", MM_PER_INCH),
    "英寸": ("in", MM_PER_INCH),
}
_FORMAT_SPLIT = re.compile(r"\s*(?:[,，、+/&]|和|及|以及|\s)\s*")

Fit = Literal["crop", "pad", "stretch"]
Format = Literal["png", "jpg", "svg", "pdf", "eps", "psd"]


class PrintSize(BaseModel):
    """A physical size to print at; written and stored as its :attr:`label`."""

    model_config = ConfigDict(frozen=True)

    label: str
    """Canonical spelling (``5寸``, ``A4``, ``10x15cm``): what ``requirements.output`` stores."""
    width_mm: float
    height_mm: float
    turns: bool
    """Whether it turns with the picture (named photo and paper sizes do)."""

    @classmethod
    def parse(cls, text: str) -> PrintSize:
        """From a name or ``WxH`` with a unit; :class:`ValueError` naming what is accepted."""
        raw = text.strip().replace(" ", "")
        name = _PRINT_ALIASES.get(raw, raw)
        name = name.removesuffix("纸").removesuffix("照片").removesuffix("照")
        upper = name.upper()
        if upper in PRINT_SIZES_MM:
            width, height = PRINT_SIZES_MM[upper]
            return cls(label=upper, width_mm=width, height_mm=height, turns=True)
        if name in ID_PHOTO_MM:
            width, height = ID_PHOTO_MM[name]
            return cls(label=name, width_mm=width, height_mm=height, turns=False)
        match = _PHYSICAL.match(text)
        if not match:
            raise ValueError(
                f"print size {text!r} is not known: use 5寸…12寸, A3…A6, B5, 1寸/2寸 "
                "or WxH with a unit (10x15cm, 100x150mm, 4x6in)"
            )
        unit, factor = _UNITS[match.group(3).lower()]
        width, height = float(match.group(1)), float(match.group(2))
        if not all(1 <= side * factor <= 2000 for side in (width, height)):
            raise ValueError(f"print size {text!r} must be 1..2000 mm on each side")
        return cls(
            label=f"{width:g}x{height:g}{unit}",
            width_mm=width * factor,
            height_mm=height * factor,
            turns=False,
        )

    def oriented_mm(self, picture: tuple[int, int] | None = None) -> tuple[float, float]:
        """``(width, height)`` in mm, turned to the picture's orientation when the size turns."""
        width, height = self.width_mm, self.height_mm
        if self.turns and picture is not None:
            landscape = picture[0] > picture[1]
            if landscape != (width > height):
                width, height = height, width
        return width, height

    def pixels(self, dpi: int, picture: tuple[int, int] | None = None) -> tuple[int, int]:
        """The pixels this print needs at ``dpi`` (oriented like ``picture`` when it turns)."""
        width, height = self.oriented_mm(picture)
        return mm_to_px(width, dpi), mm_to_px(height, dpi)

    @model_serializer
    def _as_label(self) -> str:
        return self.label


class Requirements(BaseModel):
    """The deliverable's requirements; every field optional (``None`` = the engine decides)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    background: str | None = None
    """``transparent``, a named colour or ``#rrggbb`` (normalised to lower-case hex or a name)."""
    size: tuple[int, int] | None = None
    """Exact output pixels ``(width, height)``."""
    max_kb: int | None = Field(None, ge=1, le=100_000)
    min_kb: int | None = Field(None, ge=1, le=100_000)
    format: Format | None = None
    """The deliverable's format (the first of several)."""
    extra_formats: tuple[Format, ...] = ()
    """Further formats delivered with it (in one ZIP)."""
    fit: Fit = "crop"
    print: PrintSize | None = None
    """The physical size the result is printed at (pixels = size × DPI)."""
    dpi: int | None = Field(None, ge=72, le=1200)
    quality: int | None = Field(None, ge=10, le=100)
    """JPEG quality."""

    @model_validator(mode="before")
    @classmethod
    def _format_list(cls, data: object) -> object:
        """``format=svg,pdf`` (or a list) → ``format=svg`` + ``extra_formats=[pdf]``."""
        if not isinstance(data, Mapping) or not ({"format", "extra_formats"} & data.keys()):
            return data
        names = split_formats(data.get("format"))
        names += [n for n in split_formats(data.get("extra_formats")) if n not in names]
        return {**data, "format": names[0] if names else None, "extra_formats": names[1:]}

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

    @field_validator("print", mode="before")
    @classmethod
    def _print(cls, value: object) -> object:
        if value is None or value == "":
            return None
        if isinstance(value, str):
            return PrintSize.parse(value)
        return value

    @field_validator("dpi", "quality", "max_kb", "min_kb", mode="before")
    @classmethod
    def _number(cls, value: object) -> object:
        # Buyers' and forms' spellings: "300dpi", "50KB", "90%".
        if isinstance(value, str):
            text = re.sub(r"(?i)\s*(dpi|kb|k|%)$", "", value.strip())
            return text or None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Requirements:
        if self.max_kb is not None and self.min_kb is not None and self.min_kb > self.max_kb:
            raise ValueError(f"min_kb {self.min_kb} is larger than max_kb {self.max_kb}")
        if self.size is not None and self.print is not None:
            raise ValueError("give size (pixels) or print (paper size), not both")
        if self.print is not None:
            dpi = self.dpi or DEFAULT_DPI
            width, height = self.print.pixels(dpi)
            if max(width, height) > MAX_SIDE:
                raise ValueError(
                    f"print {self.print.label} at {dpi} dpi is {width}x{height} px; "
                    f"at most {MAX_SIDE} px a side"
                )
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
        Values that contradict each other keep the more specific one: a print size over a pixel
        size, ``max_kb`` over ``min_kb``.
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
        for dropped in ("", "size", "min_kb", "dpi"):
            kept.pop(dropped, None)
            try:
                return cls.model_validate(kept)
            except ValidationError:
                continue
        return cls()

    def to_json(self) -> dict[str, Any]:
        """The fields that are set, JSON-ready (what ``requirements.output`` stores)."""
        data = self.model_dump(exclude_defaults=True)
        if self.size is not None:
            data["size"] = f"{self.size[0]}x{self.size[1]}"
        if self.extra_formats:
            data["extra_formats"] = list(self.extra_formats)
        return data

    @property
    def is_empty(self) -> bool:
        """Nothing was asked."""
        return not self.to_json()

    @property
    def formats(self) -> tuple[Format, ...]:
        """Every format asked for, the main one first (empty when none was named)."""
        return () if self.format is None else (self.format, *self.extra_formats)

    @property
    def effective_dpi(self) -> int | None:
        """The DPI the file must carry: ``dpi``, or 300 for a print size, else ``None``."""
        if self.dpi is not None:
            return self.dpi
        return DEFAULT_DPI if self.print is not None else None

    def pixels(self, picture: tuple[int, int]) -> tuple[int, int] | None:
        """The exact pixels asked for a ``picture``-sized result (``size`` or ``print``×DPI)."""
        if self.size is not None:
            return self.size
        if self.print is not None:
            return self.print.pixels(self.effective_dpi or DEFAULT_DPI, picture)
        return None

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


def _format_name(value: object) -> str:
    text = str(value).strip().lower().lstrip(".")
    return "jpg" if text == "jpeg" else text


def split_formats(value: object) -> list[str]:
    """Format names from ``svg,pdf`` / ``svg+pdf`` / ``svg和pdf`` / a list, in order, once each."""
    if value is None or value == "":
        return []
    items: Iterable[object] = (
        value if isinstance(value, list | tuple) else _FORMAT_SPLIT.split(str(value))
    )
    names: list[str] = []
    for item in items:
        name = _format_name(item)
        if name and name not in names:
            names.append(name)
    return names


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

_REPLACES: Final[dict[str, tuple[str, ...]]] = {
    "size": ("print",),
    "print": ("size",),
    "format": ("extra_formats",),
}
"""Keys a newly given key makes obsolete (a pixel size replaces a print size and back; newly
named formats replace all the formats named before)."""


def output_from_detail(key: str, value: str) -> dict[str, Any]:
    """The structured requirement a detail the chat recorded stands for (may be empty).

    The chat records details in the buyer's words (``size=800×800像素``, ``size=A4``,
    ``colour=白色背景``, ``dpi=300dpi``); the engines need them as :class:`Requirements` fields.
    A size that names paper or a photo print (A4, 5寸, 10x15cm) becomes ``print``. A detail the
    engines cannot apply (黑色, "尽快") gives nothing: it stays a note for staff.
    """
    text = value.strip()
    candidate: dict[str, Any]
    if key == "size":
        pixels = re.sub(r"(像素|px)$", "", text, flags=re.IGNORECASE)
        candidate = {"size": pixels}
        if not _valid(candidate):
            candidate = {"print": text}
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


def merge_output(stored: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    """``requirements.output`` with ``new`` applied; later values win.

    A pixel size and a print size replace each other: the buyer changed their mind, they did
    not ask for both. Formats named again replace the ones named before.
    """
    merged = dict(stored or {})
    for key in new:
        for obsolete in _REPLACES.get(key, ()):
            merged.pop(obsolete, None)
    merged.update(new)
    return merged


def _valid(candidate: Mapping[str, Any]) -> bool:
    try:
        Requirements.model_validate(dict(candidate))
    except ValidationError:
        return False
    return True
