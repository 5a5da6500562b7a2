"""Fixtures for the processing flow: a product picture stored in the data directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from ai_cs import datafiles
from ai_cs.config import Settings


def product_picture(path: Path, size: tuple[int, int] = (480, 360)) -> Path:
    """A red rounded product on a plain light background (easy for every engine)."""
    img = Image.new("RGB", size, (235, 235, 230))
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.rounded_rectangle((w * 0.3, h * 0.25, w * 0.7, h * 0.75), radius=30, fill=(200, 30, 40))
    draw.ellipse((w * 0.42, h * 0.35, w * 0.58, h * 0.5), fill=(250, 200, 60))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


@pytest.fixture
def picture(settings: Settings, tmp_path: Path) -> Path:
    """A product picture stored in the data directory under its key, as intake stores it."""
    data = product_picture(tmp_path / "upload" / "product.png").read_bytes()
    return datafiles.path_of(
        settings.data_dir, datafiles.put(settings.data_dir, "images", data, "png")
    )
