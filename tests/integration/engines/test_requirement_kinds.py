"""Every requirement kind, honoured and measured on the written file.

Each test runs twice: through the engine (``run_engine``, as the worker does) and through the
command ``aics process --require`` (in-process with Typer's runner; the fresh-process path is
exercised by ``test_requirements_results.py``). The assertions read the file independently of
the engine's own checks: Pillow for pixels, corners, DPI and JPEG tables, pdfium for PDF pages
and paths, psd-tools for PSD layers and resolution, zipfile for bundles.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from engine_pictures import flat_logo, product_photo
from PIL import Image
from psd_tools import PSDImage
from psd_tools.constants import Resource
from typer.testing import CliRunner

from ai_cs.cli import build_app
from ai_cs.core.requirements import COLOURS, Requirements
from ai_cs.engines import EngineOptions, run_engine
from ai_cs.engines.output import corner_distance

Deliver = Callable[..., bytes]


@pytest.fixture(params=["engine", "cli"])
def deliver(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Deliver:
    """``deliver(picture, operation, *require) -> file bytes``; the result passed its checks."""
    monkeypatch.setenv("AICS_DATA_DIR", str(tmp_path / "data"))

    def via_engine(picture: Path, operation: str, *require: str) -> bytes:
        options = EngineOptions(requirements=Requirements.parse_pairs(require))
        return run_engine(operation, picture, options).data

    def via_cli(picture: Path, operation: str, *require: str) -> bytes:
        args = ["process", str(picture), "--operation", operation, "--out", str(tmp_path / "out")]
        args += ["--json", *(arg for item in require for arg in ("--require", item))]
        done = CliRunner().invoke(build_app(), args)
        assert done.exit_code == 0, done.output
        report = json.loads(done.stdout)
        assert report["quality"]["passed"] is True
        return Path(report["path"]).read_bytes()

    return via_engine if request.param == "engine" else via_cli


@pytest.fixture
def product(tmp_path: Path) -> Path:
    rgb, _ = product_photo("plain", 900, 700)
    path = tmp_path / "product.jpg"
    Image.fromarray(rgb).save(path, quality=92)
    return path


@pytest.fixture
def logo(tmp_path: Path) -> Path:
    path = tmp_path / "logo.png"
    Image.fromarray(flat_logo()).save(path)
    return path


def opened(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return img.copy()


def pdf_page(data: bytes) -> tuple[tuple[float, float], int, int]:
    """Page size in points, path objects and image objects of a PDF's first page."""
    document = pdfium.PdfDocument(data)
    try:
        page = document[0]
        kinds = [obj.type for obj in page.get_objects()]
        return (
            page.get_size(),
            kinds.count(pdfium_c.FPDF_PAGEOBJ_PATH),
            kinds.count(pdfium_c.FPDF_PAGEOBJ_IMAGE),
        )
    finally:
        document.close()


# --- background colour ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("background", "fmt", "rgb"),
    [("white", "jpg", (255, 255, 255)), ("#2a7ae2", "png", (42, 122, 226)), ("red", "jpg", None)],
)
def test_a_cut_out_on_the_asked_background(
    deliver: Deliver, product: Path, background: str, fmt: str, rgb: tuple[int, int, int] | None
) -> None:
    data = deliver(product, "remove_bg", f"background={background}", f"format={fmt}")
    img = opened(data)
    colour = rgb or COLOURS[background]
    assert corner_distance(img, colour) < 12
    assert img.mode == "RGB" if fmt == "jpg" else np.asarray(img.convert("RGBA"))[0, 0, 3] == 255
    # The product (red) is still in the middle.
    centre = np.asarray(img.convert("RGB"))[img.height // 2 + 40, img.width // 2].astype(int)
    assert centre[0] > 120 and centre[1] < 90


def test_a_transparent_cut_out(deliver: Deliver, product: Path) -> None:
    img = opened(deliver(product, "remove_bg", "background=transparent", "format=png"))
    alpha = np.asarray(img.convert("RGBA"))[:, :, 3]
    assert alpha[:20, :20].max() == 0 and alpha[-20:, -20:].max() == 0
    assert alpha[img.height // 2, img.width // 2] == 255


# --- pixel size -------------------------------------------------------------------------------
@pytest.mark.parametrize("fit", ["pad", "crop"])
def test_an_enhanced_picture_at_exact_pixels(deliver: Deliver, product: Path, fit: str) -> None:
    img = opened(deliver(product, "enhance", "size=1200x800", f"fit={fit}"))
    assert img.size == (1200, 800)
    left_bar = np.asarray(img.convert("RGB"))[:, :40].astype(int)
    if fit == "pad":  # 900×700 is narrower than 3:2: white bars left and right
        assert np.abs(left_bar - 255).max() < 10
    else:
        assert np.abs(left_bar - 255).max() > 10


# --- print size and DPI -----------------------------------------------------------------------
def test_a_print_size_gives_its_pixels_and_the_dpi(deliver: Deliver, product: Path) -> None:
    data = deliver(product, "resize_compress", "print=5寸", "dpi=300")
    img = opened(data)
    # 5寸 is 89×127 mm; the picture is landscape, so is the print: 1500×1051 px at 300 DPI.
    assert img.size == (1500, 1051)
    assert tuple(round(v) for v in img.info["dpi"]) == (300, 300)


def test_an_id_photo_printed_at_600_dpi(deliver: Deliver, tmp_path: Path) -> None:
    from test_requirements_results import portrait

    data = deliver(portrait(tmp_path / "me.jpg"), "id_photo", "print=2寸", "dpi=600")
    img = opened(data)
    assert img.size == (827, 1157)  # 35×49 mm at 600 DPI
    assert tuple(round(v) for v in img.info["dpi"]) == (600, 600)
    assert corner_distance(img, (255, 255, 255), top_only=True) < 20


def test_a_vector_pdf_on_a4(deliver: Deliver, logo: Path) -> None:
    data = deliver(logo, "vectorize", "format=pdf", "print=A4")
    size, paths, images = pdf_page(data)
    # A4 turned landscape like the logo: 297×210 mm = 841.9×595.3 pt.
    assert size == pytest.approx((841.89, 595.28), abs=0.5)
    assert paths >= 3 and images == 0


# --- formats ----------------------------------------------------------------------------------
def test_a_vector_eps(deliver: Deliver, logo: Path) -> None:
    data = deliver(logo, "vectorize", "format=eps")
    assert data.startswith(b"%!PS-Adobe-3.0 EPSF-3.0")
    box = re.search(rb"%%BoundingBox: 0 0 (\d+) (\d+)", data)
    assert box is not None and (int(box[1]), int(box[2])) == (600, 450)  # 800×600 px in pt
    tokens = data.split()
    assert tokens.count(b"fill") + tokens.count(b"eofill") >= 3
    assert b"image" not in tokens and b"colorimage" not in tokens


def test_several_formats_in_one_zip(deliver: Deliver, logo: Path) -> None:
    data = deliver(logo, "vectorize", "format=svg,pdf,eps")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        files = {name: archive.read(name) for name in archive.namelist()}
    assert sorted(files) == ["result.eps", "result.pdf", "result.svg"]
    assert b"<svg" in files["result.svg"][:200] and files["result.svg"].count(b"<path") >= 3
    assert pdf_page(files["result.pdf"])[1] >= 3
    assert files["result.eps"].startswith(b"%!PS-Adobe")


def test_a_layered_psd_with_dpi_and_a_colour_layer(deliver: Deliver, product: Path) -> None:
    data = deliver(product, "remove_bg_and_layer", "format=psd", "dpi=300", "background=white")
    psd = PSDImage.open(io.BytesIO(data))
    names = [layer.name for layer in psd]
    assert {"主体 subject", "背景 background", "底色 colour"} <= set(names)
    assert names.index("底色 colour") < names.index("主体 subject")  # under the subject
    resolution = psd.image_resources.get_data(Resource.RESOLUTION_INFO)
    assert resolution.horizontal / 65536 == 300
    assert psd.size == (900, 700)


# --- JPEG quality and file size ---------------------------------------------------------------
def test_the_asked_jpeg_quality(deliver: Deliver, product: Path) -> None:
    data = deliver(product, "resize_compress", "quality=70", "format=jpg")
    reference = io.BytesIO()
    Image.open(product).convert("RGB").save(reference, format="JPEG", quality=70)
    with Image.open(io.BytesIO(data)) as ours, Image.open(reference) as pillows:
        assert ours.quantization == pillows.quantization  # type: ignore[attr-defined]


def test_a_cut_out_under_a_file_size(deliver: Deliver, product: Path) -> None:
    data = deliver(product, "remove_bg", "background=white", "format=jpg", "max_kb=25")
    assert len(data) <= 25 * 1024 and data[:2] == b"\xff\xd8"
    assert opened(data).size == (900, 700)
