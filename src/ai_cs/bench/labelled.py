"""A labelled picture set for reading text: speed is never bought with misses.

Every picture carries the text a person reads in it (``""`` for none):

* generated zh+en posters at several sizes, colours and angles (the text is what was drawn);
* generated pictures without text (a flat logo, a smooth photo-like picture);
* real photographs without legible text from scikit-image's wheel (``skimage/data``), when that
  package is installed (a dev dependency; the set says so when it is not).

:func:`char_accuracy` scores what an OCR read against the labels: 1 − (character errors ÷
labelled characters) over the whole set, after the normalisation the risk rules use (NFKC, lower
case, no whitespace). Errors are counted on the characters as a bag — the larger of the
characters missed and the characters read that are not there — because the order in which an
OCR lists separate lines (an upside-down poster's come bottom first) changes neither the price
nor the risk rules; characters read in pictures without text count as errors too.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import shutil
import subprocess
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

LINES_ZH = ("新店开业 全场八折", "欢迎光临 美味小吃")
LINES_EN = ("Grand Opening Sale", "Open 9:00-21:00")


@functools.cache
def cjk_font_source() -> tuple[str, int] | None:
    """Path and collection index of a font with Chinese glyphs, or None.

    Looked up in this order: the pip package ``noto-cjk-sans-otc`` (Noto Sans CJK, index 2 =
    Simplified Chinese), the pip package ``pylopdf-fonts-zh-cn`` (Noto Sans SC), then any font
    ``fc-list :lang=zh`` reports.
    """
    for module, attr, index in (
        ("noto_cjk_sans_otc", "FONT_PATH", 2),
        ("pylopdf_fonts_zh_cn", "sans_path", 0),
    ):
        try:
            found = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            continue
        return str(found() if callable(found) else found), index
    if shutil.which("fc-list"):
        out = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, check=False
        ).stdout
        for line in sorted(out.splitlines()):
            path = line.split(":", 1)[0].strip()
            if path and Path(path).exists():
                return path, 0
    return None


def cjk_font(size: int) -> ImageFont.FreeTypeFont | None:
    """A Chinese-capable font at ``size`` px if one is installed (see :func:`cjk_font_source`)."""
    source = cjk_font_source()
    if source is None:
        return None
    path, index = source
    return ImageFont.truetype(path, size, index=index)


def make_picture() -> tuple[Image.Image, str]:
    """A 1000×1000 poster with text; Chinese lines only when a CJK font is available."""
    img = Image.new("RGB", (1000, 1000), (250, 240, 210))
    draw = ImageDraw.Draw(img)
    cjk = cjk_font(56)
    font = cjk if cjk is not None else ImageFont.load_default(size=56)
    lines = (*LINES_ZH, *LINES_EN) if cjk is not None else LINES_EN * 2
    for i, line in enumerate(lines):
        draw.text((80, 150 + i * 180), line, font=font, fill=(30, 20, 90))
    note = "zh+en text" if cjk is not None else "en text only (no CJK font installed)"
    return img, note


PHOTOS: dict[str, str] = {
    "astronaut.png": "",
    "coffee.png": "",
    "chelsea.png": "",
    "rocket.jpg": "",
    "motorcycle_left.png": "YAMAHA",
    "hubble_deep_field.jpg": "",
    "retina.jpg": "",
}
"""Photographs in scikit-image's wheel and their legible text: the motorcycle's tank says
YAMAHA; the astronaut's patch and the rocket's logo are a few pixels of illegible print."""


@dataclass(frozen=True)
class Labelled:
    """One picture and the text in it."""

    name: str
    image: Image.Image
    text: str


def normalise(text: str) -> str:
    """Text as it is compared: NFKC, lower case, no whitespace (like the risk rules)."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def _poster(
    size: tuple[int, int],
    lines: tuple[str, ...],
    font_px: int,
    *,
    paper: tuple[int, int, int] = (250, 240, 210),
    ink: tuple[int, int, int] = (30, 20, 90),
) -> Image.Image:
    img = Image.new("RGB", size, paper)
    draw = ImageDraw.Draw(img)
    font = cjk_font(font_px)
    gap = int(font_px * 1.9)
    top = max(10, (size[1] - gap * len(lines)) // 2)
    for i, line in enumerate(lines):
        draw.text((int(size[0] * 0.08), top + i * gap), line, font=font, fill=ink)
    return img


def _photographed(img: Image.Image, seed: int = 3) -> Image.Image:
    """The poster as a phone sees it: slightly turned, soft, with sensor noise."""
    turned = img.rotate(4, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(90, 80, 70))
    soft = turned.filter(ImageFilter.GaussianBlur(1.2))
    pixels = np.asarray(soft, dtype=np.int16)
    noise = np.random.default_rng(seed).normal(0, 6, pixels.shape).astype(np.int16)
    return Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))


def _photo_like(size: tuple[int, int]) -> Image.Image:
    height, width = size[1], size[0]
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack(
        [
            120 + 80 * np.sin(x / 90.0),
            110 + 70 * np.cos(y / 70.0),
            140 + 60 * np.sin((x + y) / 120.0),
        ],
        axis=2,
    )
    noise = np.random.default_rng(5).normal(0, 8, base.shape)
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))


def flat_logo(
    size: tuple[int, int],
    disc: tuple[int, int, int] = (220, 60, 40),
    bar: tuple[int, int, int] = (40, 60, 160),
    bar_span: tuple[float, float] = (0.1, 0.9),
) -> Image.Image:
    """A flat logo on white: a solid disc and an upright bar from ``bar_span`` of the height."""
    img = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(img)
    w, h = size
    top, bottom = bar_span
    draw.ellipse((w * 0.2, h * 0.2, w * 0.8, h * 0.8), fill=disc)
    draw.rectangle((w * 0.42, h * top, w * 0.58, h * bottom), fill=bar)
    return img


def _skimage_photos() -> Iterable[Labelled]:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    for name, text in PHOTOS.items():
        path = data / name
        if path.exists():
            with Image.open(path) as img:
                yield Labelled(f"photo:{name}", img.convert("RGB"), text)


def picture_set() -> tuple[list[Labelled], str]:
    """The labelled pictures and a note on what the set holds."""
    zh_en = (*LINES_ZH, *LINES_EN)
    poster, _ = make_picture()
    posters = [
        Labelled("poster 1000x1000", poster, "".join(zh_en)),
        Labelled(
            "small poster 640x480",
            _poster((640, 480), ("限时特价 每斤九元", "Fresh Fruit Daily"), 30),
            "限时特价每斤九元Fresh Fruit Daily",
        ),
        Labelled(
            "dense poster 1600x1200",
            _poster(
                (1600, 1200),
                ("会员日 满一百减二十", "Member Day 20 off 100", "地址 人民路八十八号"),
                40,
            ),
            "会员日满一百减二十Member Day 20 off 100地址人民路八十八号",
        ),
        Labelled(
            "light on dark 1200x800",
            _poster(
                (1200, 800),
                ("夜市美食节", "Night Market"),
                64,
                paper=(20, 24, 40),
                ink=(250, 230, 120),
            ),
            "夜市美食节Night Market",
        ),
        Labelled(
            "photographed poster",
            _photographed(_poster((1000, 750), ("今日推荐 红烧牛肉面", "Beef Noodles 28"), 48)),
            "今日推荐红烧牛肉面Beef Noodles 28",
        ),
        Labelled(
            "upside-down poster",
            _poster((900, 600), ("欢迎光临", "Welcome"), 60).rotate(180),
            "欢迎光临Welcome",
        ),
    ]
    plain = [
        Labelled("logo 800x800", flat_logo((800, 800)), ""),
        Labelled("photo-like 1200x900", _photo_like((1200, 900)), ""),
    ]
    photos = list(_skimage_photos())
    note = f"{len(posters)} posters, {len(plain)} plain pictures, {len(photos)} photographs"
    if not photos:
        note += " (scikit-image not installed)"
    return [*posters, *plain, *photos], note


@dataclass(frozen=True)
class Score:
    """How well one reader did over the set."""

    accuracy: float  # 1 − character errors ÷ labelled characters, over every picture
    labelled_chars: int
    edits: int
    false_chars: int  # characters read in pictures labelled without text


def char_accuracy(pictures: list[Labelled], read: Callable[[Image.Image], str]) -> Score:
    """Score ``read`` (picture → all the text it reads) against the labels."""
    labelled = edits = false_chars = 0
    for item in pictures:
        want, got = Counter(normalise(item.text)), Counter(normalise(read(item.image)))
        labelled += want.total()
        errors = max((want - got).total(), (got - want).total())
        edits += errors
        if not want:
            false_chars += errors
    accuracy = 1.0 - edits / labelled if labelled else 0.0
    return Score(round(accuracy, 4), labelled, edits, false_chars)
