"""The checks that read a written deliverable back: format, DPI, JPEG quality, PDF/EPS, ZIP.

Each check must fail for a file that is not what was asked, not only pass for a good one.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ai_cs.core.requirements import Requirements
from ai_cs.engines.output import (
    bundle,
    check_bundle,
    check_dpi,
    check_format,
    check_jpeg_quality,
    check_transparent,
    decoded,
    encode,
    file_dpi,
    file_format,
    jpeg_quality,
)
from ai_cs.engines.vector_output import (
    check_eps_structure,
    check_vector_paths,
    dress_svg,
    read_eps,
    read_pdf,
    shape_count,
    svg_to_eps,
    svg_to_pdf,
    view_box,
)

SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<svg version="1.1" width="400" height="300" '
    b'viewBox="0 0 400 300" xmlns="http://www.w3.org/2000/svg">'
    b'<path d="M0 0 L200 0 L200 150 L0 150 Z" fill="#FF0000"/>'
    b'<path d="M200 150 L400 150 L400 300 L200 300 Z" fill="#0000FF"/>'
    b'<path d="M150 100 L250 100 L200 200 Z" fill="#00AA00" transform="translate(0,0)"/></svg>'
)


def photo(width: int = 320, height: int = 240) -> Image.Image:
    rng = np.random.default_rng(3)
    base = np.linspace(0, 255, width * height * 3).reshape(height, width, 3)
    return Image.fromarray(np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8))


@pytest.mark.parametrize("quality", [30, 55, 70, 85, 92, 100])
def test_the_jpeg_quality_is_read_back_from_the_quantization_table(quality: int) -> None:
    out = io.BytesIO()
    photo().save(out, format="JPEG", quality=quality)
    assert jpeg_quality(out.getvalue()) == quality


def test_encode_uses_the_asked_quality_and_the_check_catches_another() -> None:
    req = Requirements.parse_pairs(["quality=70", "format=jpg"])
    data = encode(photo(), req, "jpg")
    reference = io.BytesIO()
    photo().save(reference, format="JPEG", quality=70)
    with Image.open(io.BytesIO(data)) as ours, Image.open(reference) as pillows:
        assert ours.quantization == pillows.quantization  # type: ignore[attr-defined]
    assert check_jpeg_quality(data, req).passed
    other = encode(photo(), Requirements.parse_pairs(["quality=90"]), "jpg")
    assert not check_jpeg_quality(other, req).passed


def test_with_max_kb_the_quality_may_drop_but_never_rise() -> None:
    req = Requirements.parse_pairs(["quality=80", "max_kb=8"])
    data = encode(photo(), req, "jpg")
    assert len(data) <= 8 * 1024 and (jpeg_quality(data) or 0) < 80
    assert check_jpeg_quality(data, req).passed


@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_the_dpi_is_written_and_read_back(fmt: str) -> None:
    data = encode(photo(), Requirements.parse_pairs(["dpi=300"]), fmt)
    assert check_dpi(file_dpi(decoded(data)), 300).passed
    assert not check_dpi(file_dpi(decoded(data)), 72).passed
    bare = encode(photo(), Requirements(), fmt)
    assert not check_dpi(file_dpi(decoded(bare)), 300).passed  # a file without a DPI fails


def test_file_formats_by_their_magic_bytes() -> None:
    assert file_format(SVG) == "svg"
    assert file_format(svg_to_pdf(SVG)) == "pdf"
    assert file_format(svg_to_eps(SVG)) == "eps"
    assert file_format(encode(photo(), Requirements(), "png")) == "png"
    assert file_format(b"GIF89a....") == "?"
    assert not check_format(svg_to_eps(SVG), "pdf").passed


def test_a_transparent_background_is_checked_at_the_corners() -> None:
    clear = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    assert check_transparent(clear).passed
    assert not check_transparent(Image.new("RGBA", (100, 100), (255, 255, 255, 255))).passed
    assert not check_transparent(Image.new("RGB", (100, 100))).passed


def test_the_pdf_is_a_vector_drawing_of_every_shape() -> None:
    facts = read_pdf(svg_to_pdf(SVG))
    assert facts.pages == 1 and facts.images == 0
    assert facts.paths == shape_count(SVG) == 3
    assert facts.size_pt == pytest.approx((300.0, 225.0))  # 400×300 CSS px
    # The top-left quarter is red when the page is rendered.
    corner = facts.rendering[5:20, 5:20].reshape(-1, 3).mean(axis=0)
    assert corner[0] > 200 and corner[1] < 60 and corner[2] < 60


def test_a_pdf_that_only_embeds_a_picture_is_not_a_vector_file() -> None:
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=(300, 225))
    page.drawImage(ImageReader(photo()), 0, 0, 300, 225)
    page.save()
    facts = read_pdf(out.getvalue())
    check = check_vector_paths("pdf", facts.paths, facts.images, 3)
    assert facts.images == 1 and not check.passed and "位图" in check.message


def test_the_eps_fills_every_shape() -> None:
    facts = read_eps(svg_to_eps(SVG))
    assert facts.header and facts.balanced and facts.images == 0
    assert facts.fills == 3
    assert facts.size_pt == (300.0, 225.0)
    assert check_eps_structure(facts).passed


def test_an_eps_that_draws_paths_without_filling_them_fails() -> None:
    # What reportlab's PostScript renderer writes for paths without ``autoclose``: outlines that
    # are never filled, i.e. an empty page.
    unfilled = svg_to_eps(SVG).replace(b"\nfill\n", b"\n").replace(b"\neofill\n", b"\n")
    facts = read_eps(unfilled)
    assert facts.fills == 0
    assert not check_vector_paths("eps", facts.fills, facts.images, 3).passed
    assert not check_eps_structure(read_eps(b"%!PS-Adobe-3.0\ngsave\n")).passed


def test_dressing_an_svg_for_a_page_keeps_or_cuts_as_asked() -> None:
    pad = dress_svg(SVG, Requirements.parse_pairs(["size=300x300", "fit=pad"]), (400, 300))
    crop = dress_svg(SVG, Requirements.parse_pairs(["size=300x300", "fit=crop"]), (400, 300))
    assert view_box(pad) == (0, -50, 400, 400)  # grown to a square, drawing centred
    assert view_box(crop) == (50, 0, 300, 300)  # cut to a square
    a4 = dress_svg(SVG, Requirements.parse_pairs(["print=A4", "background=red"]), (400, 300))
    assert b'width="297mm" height="210mm"' in a4  # A4 turned to the landscape picture
    assert b'<rect x="' in a4 and shape_count(a4) == 4


def test_a_bundle_holds_every_file_and_a_damaged_one_fails() -> None:
    from ai_cs.core.tasks import Operation
    from ai_cs.engines.base import EngineResult, QualityReport

    def part(data: bytes, ext: str) -> EngineResult:
        return EngineResult(Operation.VECTORIZE, "t", data, ext, "x", 1, 1, QualityReport(()))

    zipped = bundle([part(SVG, ".svg"), part(svg_to_pdf(SVG), ".pdf")])
    assert zipped.extension == ".zip" and zipped.quality.passed
    assert zipped.metadata["files"] == ["result.svg", "result.pdf"]
    damaged = zipped.data[:-30]
    assert not check_bundle(damaged, {"result.svg": SVG}).passed
    # The same parts always give the same bytes (results are stored content-addressed).
    assert bundle([part(SVG, ".svg"), part(svg_to_pdf(SVG), ".pdf")]).data == zipped.data
