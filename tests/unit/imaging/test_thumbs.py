"""Previews: made once from stored pictures only, cached by key and size."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from ai_cs import datafiles
from ai_cs.imaging import thumbs


def _png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 30, 30, 128) if mode == "RGBA" else (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def test_preview_is_small_cached_and_keyed_by_size(tmp_path: Path) -> None:
    key = datafiles.put(tmp_path, "images", _png((1200, 800)), "png")
    small = thumbs.preview(tmp_path, key, 160)
    assert small == thumbs.cached_path(tmp_path, key, 160) and small is not None
    with Image.open(small) as image:
        assert image.format == "WEBP" and image.size == (160, 107)
    stamp = small.stat().st_mtime_ns
    assert thumbs.preview(tmp_path, key, 160) == small and small.stat().st_mtime_ns == stamp
    large = thumbs.preview(tmp_path, key, 480)
    assert large is not None and large != small
    with Image.open(large) as image:
        assert image.size == (480, 320)


def test_transparency_is_kept(tmp_path: Path) -> None:
    key = datafiles.put(tmp_path, "results", _png((300, 300), "RGBA"), "png")
    path = thumbs.preview(tmp_path, key, 160)
    assert path is not None
    with Image.open(path) as image:
        assert "A" in image.getbands()


def test_only_stored_drawable_pictures_have_previews(tmp_path: Path) -> None:
    key = datafiles.put(tmp_path, "images", _png((50, 50)), "png")
    svg = datafiles.put(tmp_path, "results", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "svg")
    (tmp_path / "ai_cs.db").write_bytes(_png((50, 50)))
    assert thumbs.preview(tmp_path, key, 999) is None  # not an allowed size
    assert thumbs.preview(tmp_path, svg, 160) is None
    assert thumbs.preview(tmp_path, "https://img.example.com/a.png", 160) is None
    assert thumbs.preview(tmp_path, str(tmp_path / "ai_cs.db"), 160) is None
    assert thumbs.preview(tmp_path, "images/ab/" + "0" * 64 + ".png", 160) is None  # missing
    broken = datafiles.put(tmp_path, "images", b"not a picture at all", "jpg")
    assert thumbs.preview(tmp_path, broken, 160) is None
    assert not (tmp_path / "thumbs" / "160" / "results").exists()


def test_palette_transparency_is_kept(tmp_path: Path) -> None:
    image = Image.new("P", (200, 200), 0)
    image.putpalette([255, 255, 255, 200, 30, 30] + [0, 0, 0] * 254)
    image.info["transparency"] = 0
    out = io.BytesIO()
    image.save(out, "PNG", transparency=0)
    key = datafiles.put(tmp_path, "results", out.getvalue(), "png")
    path = thumbs.preview(tmp_path, key, 160)
    assert path is not None
    with Image.open(path) as small:
        assert small.mode == "RGBA" and small.getpixel((0, 0))[3] == 0
