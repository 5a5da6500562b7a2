"""Generated pictures for the library tests."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw


def bottle(size: tuple[int, int] = (1000, 1000)) -> Image.Image:
    """A product shot: a blue bottle with a white label on a light background."""
    width, height = size
    img = Image.new("RGB", size, (236, 238, 240))
    draw = ImageDraw.Draw(img)
    body = (width * 0.32, height * 0.3, width * 0.68, height * 0.9)
    draw.rounded_rectangle(body, radius=int(width * 0.06), fill=(40, 90, 200))
    draw.rectangle((width * 0.44, height * 0.14, width * 0.56, height * 0.3), fill=(40, 90, 200))
    draw.rectangle((width * 0.32, height * 0.5, width * 0.68, height * 0.62), fill=(250, 250, 245))
    return img


def stripes(size: tuple[int, int] = (900, 900)) -> Image.Image:
    """Diagonal stripes: looks like neither of the others."""
    img = Image.new("RGB", size, (250, 250, 250))
    draw = ImageDraw.Draw(img)
    for x in range(-size[1], size[0], 60):
        draw.line((x, 0, x + size[1], size[1]), fill=(200, 30, 120), width=22)
    return img


def encoded(img: Image.Image, fmt: str = "PNG", scale: float = 1.0, **params: Any) -> bytes:
    """``img`` resized by ``scale`` and encoded as ``fmt``."""
    if scale != 1.0:
        img = img.resize(
            (max(1, int(img.width * scale)), max(1, int(img.height * scale))),
            Image.Resampling.LANCZOS,
        )
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


def write(path: Path, data: bytes) -> Path:
    """Write bytes, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
