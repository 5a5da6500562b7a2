"""Pictures generated for the imaging tests: posters, photos, logos, documents, hostile files.

Chinese text needs a CJK font, found by :func:`ai_cs.bench.labelled.cjk_font_source` (the pip
packages ``noto-cjk-sans-otc`` or ``pylopdf-fonts-zh-cn``, else ``fc-list :lang=zh``:
``apt-get install fonts-noto-cjk`` or ``fonts-wqy-zenhei``).
"""

from __future__ import annotations

import functools
import io
import struct
import zlib
from collections.abc import Iterable

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ai_cs.bench import labelled
from ai_cs.bench.labelled import cjk_font_source

POSTER_LINES = ("新店开业 全场八折", "Grand Opening Sale", "欢迎光临 美味小吃", "Open 9:00-21:00")


def id_checksum(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of an identity number."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return "10X98765432"[total % 11]


ID_NUMBER = "11010119900307861" + id_checksum("11010119900307861")


def cjk_font(size: int) -> ImageFont.FreeTypeFont:
    """A Chinese-capable font at ``size`` px; fails the test with the install hint if none."""
    source = cjk_font_source()
    if source is None:
        pytest.fail(
            "no CJK font: `uv pip install noto-cjk-sans-otc` (or apt-get install fonts-noto-cjk)"
        )
    path, index = source
    return ImageFont.truetype(path, size, index=index)


def encode(img: Image.Image, fmt: str = "PNG", **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


# --- ordinary pictures --------------------------------------------------------------------------
def poster(
    lines: tuple[str, ...] = POSTER_LINES, size: tuple[int, int] = (1000, 800)
) -> Image.Image:
    """A shop poster: a soft two-colour background and dark lines of Chinese and English."""
    width, height = size
    ramp = np.linspace(0, 1, height)[:, None, None]
    top, bottom = np.array([255, 244, 214]), np.array([250, 214, 170])
    bg = (top * (1 - ramp) + bottom * ramp).repeat(width, axis=1).astype(np.uint8)
    img = Image.fromarray(bg)
    draw = ImageDraw.Draw(img)
    font = cjk_font(56)
    step = height // (len(lines) + 1)
    for i, line in enumerate(lines):
        draw.text((70, step * (i + 1) - 30), line, font=font, fill=(40, 20, 90))
    return img


def photo_like(size: tuple[int, int] = (900, 600), seed: int = 7) -> Image.Image:
    """Something with a photo's statistics: smooth shading, soft blobs, hard edges, noise."""
    return Image.fromarray(_photo_pixels(size, seed))


@functools.cache
def _photo_pixels(size: tuple[int, int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    img = np.zeros((height, width, 3))
    for channel in range(3):
        img[:, :, channel] = 90 + 60 * np.sin(xx / (70 + 20 * channel)) * np.cos(yy / 90)
    for _ in range(120):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        radius = rng.uniform(8, 70)
        colour = rng.uniform(0, 255, 3)
        blob = np.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * radius**2)))[:, :, None]
        img = img * (1 - 0.7 * blob) + colour * 0.7 * blob
    # Hard-edged objects (windows, branches, signs) as in any real scene.
    canvas = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    for _ in range(60):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        points = [(x + rng.uniform(-60, 60), y + rng.uniform(-60, 60)) for _ in range(4)]
        draw.polygon(points, fill=tuple(int(c) for c in rng.uniform(0, 255, 3)))
    for _ in range(80):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        end = (x + rng.uniform(-150, 150), y + rng.uniform(-150, 150))
        draw.line([(x, y), end], fill=tuple(int(c) for c in rng.uniform(0, 255, 3)), width=3)
    img = np.asarray(canvas, dtype=np.float64) + rng.normal(0, 18, (height, width, 3))
    pixels = np.clip(img, 0, 255).astype(np.uint8)
    pixels.setflags(write=False)  # shared by every caller through the cache
    return pixels


@functools.cache
def served_poster_png() -> bytes:
    """The PNG the test picture server sends (English text only, 1000×800)."""
    return encode(poster(lines=("Grand Opening", "Sale 50%")), "PNG")


def flat_logo(size: tuple[int, int] = (800, 800)) -> Image.Image:
    """A flat logo: two solid shapes on white."""
    return labelled.flat_logo(size, disc=(0, 90, 200), bar=(255, 200, 0), bar_span=(0.3, 0.7))


def id_card(number: str = ID_NUMBER) -> Image.Image:
    """Something laid out like the back of a 居民身份证 with a name and an 18-digit number."""
    img = Image.new("RGB", (1000, 630), (236, 240, 246))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((10, 10, 990, 620), radius=30, outline=(150, 160, 180), width=4)
    big, small = cjk_font(58), cjk_font(40)
    draw.text((300, 60), "居民身份证", font=big, fill=(30, 30, 30))
    draw.text((80, 220), "姓名 张三", font=small, fill=(30, 30, 30))
    draw.text((80, 300), "性别 男  民族 汉", font=small, fill=(30, 30, 30))
    draw.text((80, 460), f"公民身份号码 {number}", font=small, fill=(30, 30, 30))
    return img


def document(tilted: bool, size: tuple[int, int] = (1000, 1000)) -> Image.Image:
    """A white page with text lines on a dark desk, flat or photographed at an angle."""
    page = Image.new("RGB", (600, 800), (250, 250, 248))
    draw = ImageDraw.Draw(page)
    font = cjk_font(30)
    for i in range(12):
        draw.text(
            (50, 60 + i * 55),
            f"第{i + 1}条 Terms of service line {i + 1}",
            font=font,
            fill=(20, 20, 20),
        )
    width, height = size
    desk = np.full((height, width, 3), (45, 40, 38), dtype=np.uint8)
    src = np.float32([[0, 0], [600, 0], [600, 800], [0, 800]])
    if tilted:
        dst = np.float32([[260, 110], [820, 190], [760, 900], [170, 820]])
    else:
        dst = np.float32([[200, 100], [800, 100], [800, 900], [200, 900]])
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(np.asarray(page), matrix, (width, height))
    mask = cv2.warpPerspective(np.full((800, 600), 255, np.uint8), matrix, (width, height))
    desk[mask > 0] = warped[mask > 0]
    return Image.fromarray(desk)


def red_seal_picture() -> Image.Image:
    """A white page with a red round stamp (公章) on it."""
    img = Image.new("RGB", (800, 800), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.ellipse((250, 250, 550, 550), outline=(220, 30, 30), width=14)
    draw.regular_polygon((400, 400, 55), 5, fill=(220, 30, 30))
    return img


# --- hostile files ------------------------------------------------------------------------------
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _png_of_rows(
    width: int, height: int, bit_depth: int, colour_type: int, rows: Iterable[bytes]
) -> bytes:
    """A PNG written from its filtered scanlines through zlib, without holding the pixels."""
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for row in rows) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def bomb_png(side: int = 20_000) -> bytes:
    """A 1-bit ``side``×``side`` PNG of zeros: tiny on disk, gigantic in memory."""
    row = b"\x00" * (1 + (side + 7) // 8)
    return _png_of_rows(side, side, 1, 0, (row for _ in range(side)))


def canvas_png(width: int, height: int, *, line_every: int = 300) -> bytes:
    """An RGB PNG of ``width``×``height``: paper with a dark line every ``line_every`` rows.

    Written row by row through zlib, so a canvas just under the pixel limit is made without
    holding its pixels (6000×6600 gives a file of about 115 KB).
    """
    paper = b"\x00" + b"\xf5\xf0\xe6" * width
    ink = b"\x00" + b"\x28\x1e\x5a" * width
    rows = (ink if row % line_every == line_every // 2 else paper for row in range(height))
    return _png_of_rows(width, height, 8, 2, rows)


def truncated_jpeg() -> bytes:
    """A real JPEG cut off in the middle of its scan data."""
    data = encode(photo_like((640, 480)), "JPEG", quality=90)
    return data[: len(data) // 2]


EPS_BYTES = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nnewpath 0 0 moveto showpage\n"
TEXT_BYTES = b"hello, this is not a picture at all\n"
