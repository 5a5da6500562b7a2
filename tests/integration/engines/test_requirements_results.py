"""What the order asks is what the file is: one test per requirement kind, on the output file.

Runs ``aics process --require`` (CONTRACT §1) in a fresh process and measures the file it wrote:
pixel size, background colour at the corners, format by magic bytes, file size.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from engine_pictures import product_photo
from PIL import Image, ImageDraw, ImageFilter

from ai_cs.core.requirements import COLOURS
from ai_cs.engines.output import corner_distance


def portrait(path: Path, background: tuple[int, int, int] = (200, 205, 210)) -> Path:
    """A head-and-shoulders picture on a plain background, shoulders running out at the bottom."""
    w, h = 600, 800
    img = Image.new("RGB", (w, h), background)
    d = ImageDraw.Draw(img)
    d.polygon(
        [(w * 0.12, h), (w * 0.25, h * 0.72), (w * 0.75, h * 0.72), (w * 0.88, h)], (30, 40, 70)
    )
    d.rectangle((w * 0.43, h * 0.55, w * 0.57, h * 0.75), fill=(225, 180, 150))
    d.ellipse((w * 0.32, h * 0.2, w * 0.68, h * 0.62), fill=(230, 185, 155))
    d.ellipse((w * 0.30, h * 0.16, w * 0.70, h * 0.40), fill=(40, 30, 25))
    d.ellipse((w * 0.36, h * 0.28, w * 0.64, h * 0.60), fill=(232, 188, 158))
    img.filter(ImageFilter.GaussianBlur(1.2)).save(path, quality=92)
    return path


def product(path: Path) -> Path:
    rgb, _ = product_photo("plain", 900, 700)
    Image.fromarray(rgb).save(path, quality=92)
    return path


def run_process(
    picture: Path, out: Path, operation: str, *require: str
) -> subprocess.CompletedProcess[str]:
    """``aics process … --json --require …`` in a fresh process."""
    args = [sys.executable, "-c", "from ai_cs.cli import main; main()", "process", str(picture)]
    args += ["--operation", operation, "--out", str(out), "--json"]
    for item in require:
        args += ["--require", item]
    return subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)


def process(
    picture: Path, out: Path, operation: str, *require: str
) -> tuple[dict[str, Any], bytes]:
    done = run_process(picture, out, operation, *require)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    return report, Path(report["path"]).read_bytes()


def opened(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return img.copy()


@pytest.mark.parametrize(
    ("background", "size"), [("white", "295x413"), ("blue", "413x579"), ("red", "1寸")]
)
def test_id_photo_background_and_standard_size(tmp_path: Path, background: str, size: str) -> None:
    picture = portrait(tmp_path / "me.jpg")
    report, data = process(
        picture, tmp_path / "out", "id_photo", f"background={background}", f"size={size}"
    )
    img = opened(data)
    expected = {"295x413": (295, 413), "413x579": (413, 579), "1寸": (295, 413)}[size]
    assert img.size == expected and data[:2] == b"\xff\xd8"
    assert corner_distance(img, COLOURS[background], top_only=True) < 20
    # The person is still there: the middle of the picture is not the background colour.
    centre = np.asarray(img.convert("RGB"))[expected[1] // 2, expected[0] // 2].astype(float)
    assert np.linalg.norm(centre - np.asarray(COLOURS[background])) > 80
    assert report["quality"]["passed"] is True


def test_id_photo_file_size_range(tmp_path: Path) -> None:
    _, data = process(
        portrait(tmp_path / "me.jpg"), tmp_path / "out", "id_photo", "min_kb=20", "max_kb=50"
    )
    assert 20 * 1024 <= len(data) <= 50 * 1024
    assert opened(data).size == (295, 413)


@pytest.mark.parametrize("fit", ["crop", "pad", "stretch"])
def test_resize_to_exact_pixels(tmp_path: Path, fit: str) -> None:
    _, data = process(
        product(tmp_path / "p.jpg"),
        tmp_path / "out",
        "resize_compress",
        "size=800x800",
        f"fit={fit}",
    )
    img = opened(data)
    assert img.size == (800, 800)
    if fit == "pad":
        assert corner_distance(img, COLOURS["white"]) < 10  # bars in the background colour


def test_compress_into_a_file_size_range(tmp_path: Path) -> None:
    picture = tmp_path / "big.png"
    rng = np.random.default_rng(5)
    noise = rng.integers(0, 255, (900, 1200, 3), dtype=np.uint8)
    Image.fromarray(noise).save(picture)  # a picture that compresses badly
    _, data = process(
        picture, tmp_path / "out", "resize_compress", "size=600x450", "max_kb=100", "min_kb=20"
    )
    assert 20 * 1024 <= len(data) <= 100 * 1024
    assert opened(data).size == (600, 450) and data[:2] == b"\xff\xd8"


def test_a_small_file_is_padded_up_to_min_kb(tmp_path: Path) -> None:
    flat = tmp_path / "flat.png"
    Image.new("RGB", (400, 300), (240, 240, 240)).save(flat)
    _, data = process(flat, tmp_path / "out", "resize_compress", "min_kb=30", "format=jpg")
    assert len(data) >= 30 * 1024
    img = opened(data)
    assert img.size == (400, 300)
    assert np.abs(np.asarray(img).astype(int) - 240).max() < 6  # the picture is unchanged


def test_cut_out_on_a_white_background_at_a_size(tmp_path: Path) -> None:
    _, data = process(
        product(tmp_path / "p.jpg"),
        tmp_path / "out",
        "remove_bg",
        "background=white",
        "size=800x800",
        "format=jpg",
    )
    img = opened(data)
    assert img.size == (800, 800) and data[:2] == b"\xff\xd8" and img.mode == "RGB"
    assert corner_distance(img, (255, 255, 255)) < 10


def test_cut_out_stays_transparent_png_by_default(tmp_path: Path) -> None:
    _, data = process(product(tmp_path / "p.jpg"), tmp_path / "out", "remove_bg", "size=600x600")
    img = opened(data)
    assert data[:4] == b"\x89PNG" and img.mode == "RGBA" and img.size == (600, 600)
    assert np.asarray(img)[0, 0, 3] == 0  # the corner is transparent


def test_a_format_the_engine_cannot_make_fails_the_check(tmp_path: Path) -> None:
    done = run_process(product(tmp_path / "p.jpg"), tmp_path, "enhance", "format=svg")
    assert done.returncode == 2
    assert done.stderr.startswith("refused [quality_check_failed]") and "svg" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_bad_requirement_is_refused_before_any_work(tmp_path: Path) -> None:
    done = run_process(
        product(tmp_path / "p.jpg"), tmp_path / "out", "resize_compress", "size=huge"
    )
    assert done.returncode == 2 and done.stderr.startswith("refused [invalid_argument]")
    assert not (tmp_path / "out").exists()
