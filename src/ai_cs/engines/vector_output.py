"""Vector deliverables (矢量文件): the traced SVG as the order asks it, and the same as PDF / EPS.

* **SVG as asked.** A pixel ``size`` or a ``print`` size becomes the SVG's width/height (pixels, or
  millimetres for print), with the viewBox widened (``pad``), narrowed (``crop``) or left and
  stretched (``stretch``) to that shape; a background colour becomes a rectangle behind the
  drawing that covers the whole page.
* **PDF and EPS** are written from the SVG by svglib + reportlab (pure Python wheels, no system
  libraries): real vector files, every traced shape a filled path, the page the SVG's size
  (a print size gives the paper size). reportlab's PostScript renderer never fills a path whose
  ``autoclose`` is unset (its "old default"), so every path is marked with SVG semantics first.
* **Checks by reading the written file back.** The PDF is opened with pdfium (pypdfium2): one
  page of the asked size, as many path objects as the SVG has shapes, no embedded raster
  picture, and its rendering compared with the SVG's own rendering (resvg). The EPS is
  tokenized: EPSF header, bounding box of the asked size, one fill per shape, no image operator.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, replace
from typing import Final

import cv2
import numpy as np
import resvg_py
from PIL import Image

from ai_cs.core.requirements import MM_PER_INCH, Requirements
from ai_cs.engines.base import EngineResult, QualityCheck, QualityReport
from ai_cs.engines.output import (
    MIME_TYPES,
    RASTER_FORMATS,
    bundle,
    check_background,
    check_format,
    format_mismatch,
    raster_part,
    with_checks,
)
from ai_cs.engines.quality import render_difference
from ai_cs.errors import ProcessingFailed

PT_PER_MM: Final = 72.0 / MM_PER_INCH
PT_PER_PX: Final = 0.75
"""A CSS pixel is 1/96 inch: 0.75 pt (how svglib and every browser size an SVG)."""

PAGE_TOLERANCE_PT: Final = 1.0
"""EPS bounding boxes are whole points; a page may be up to 1 pt off the asked size."""

MAX_CONVERSION_DIFFERENCE: Final = 3.0
"""Largest mean RGB difference (0–255) between the PDF's and the SVG's renderings.

Both draw the same paths; only anti-aliasing differs (measured 0.2–0.6 on logos, posters and
photos). A shape dropped, filled with the wrong rule or misplaced costs several levels.
"""

SHAPE_TAGS: Final = (b"<path", b"<rect", b"<circle", b"<ellipse", b"<polygon", b"<polyline")

_SVG_OPEN_TAG = re.compile(rb"<svg\b[^>]*>")
_ATTRIBUTE = re.compile(rb'\s([A-Za-z:_-]+)="([^"]*)"')
_BOUNDING_BOX = re.compile(rb"^%%BoundingBox:((?:\s+-?[\d.]+){4})", re.MULTILINE)
_PS_TOKEN = re.compile(rb"%[^\n]*|\([^)]*\)|[^\s\[\]{}()/<>%]+|/[^\s\[\]{}()/<>%]*|[\[\]{}]")


@dataclass(frozen=True, slots=True)
class Page:
    """The size a vector deliverable is drawn at: SVG width/height and the PDF/EPS page."""

    width: float
    height: float
    unit: str
    """``px`` (CSS pixels) or ``mm``."""

    @property
    def points(self) -> tuple[float, float]:
        """The page in PostScript points."""
        factor = PT_PER_MM if self.unit == "mm" else PT_PER_PX
        return self.width * factor, self.height * factor

    def attribute(self, value: float) -> str:
        """An SVG length in this page's unit (pixels are written without a unit)."""
        return f"{value:g}mm" if self.unit == "mm" else f"{value:g}"


def page_for(requirements: Requirements, picture: tuple[int, int]) -> Page | None:
    """The page the order asks for (``print`` or ``size``), ``None`` to keep the picture's."""
    if requirements.print is not None:
        width, height = requirements.print.oriented_mm(picture)
        return Page(round(width, 2), round(height, 2), "mm")
    if requirements.size is not None:
        return Page(float(requirements.size[0]), float(requirements.size[1]), "px")
    return None


def set_root(
    svg: bytes,
    width: str,
    height: str,
    view_box: tuple[float, float, float, float],
    preserve: str | None = None,
) -> bytes:
    """The SVG with its root's ``width``, ``height``, ``viewBox`` (and ``preserveAspectRatio``)."""
    match = _SVG_OPEN_TAG.search(svg)
    if match is None:
        raise ProcessingFailed("vectorizer output has no <svg> element")
    tag = match.group(0)
    tag = re.sub(rb'\s(width|height|viewBox|preserveAspectRatio)="[^"]*"', b"", tag)
    box = " ".join(f"{v:g}" for v in view_box)
    attributes = f' width="{width}" height="{height}" viewBox="{box}"'
    if preserve:
        attributes += f' preserveAspectRatio="{preserve}"'
    closing = b"/>" if tag.endswith(b"/>") else b">"
    tag = tag[: -len(closing)].rstrip() + attributes.encode() + closing
    return svg[: match.start()] + tag + svg[match.end() :]


def view_box(svg: bytes) -> tuple[float, float, float, float]:
    """The root's viewBox (from width/height when it has none)."""
    match = _SVG_OPEN_TAG.search(svg)
    if match is None:
        raise ProcessingFailed("the SVG has no <svg> element")
    attributes = {k.decode(): v.decode() for k, v in _ATTRIBUTE.findall(match.group(0))}
    if "viewBox" in attributes:
        parts = [float(v) for v in re.split(r"[\s,]+", attributes["viewBox"].strip())]
        if len(parts) == 4:
            return parts[0], parts[1], parts[2], parts[3]
    return 0.0, 0.0, _length(attributes.get("width")), _length(attributes.get("height"))


def dress_svg(svg: bytes, requirements: Requirements, picture: tuple[int, int]) -> bytes:
    """The SVG at the asked page (fit as asked) on the asked background colour."""
    page = page_for(requirements, picture)
    x, y, width, height = view_box(svg)
    if page is not None:
        preserve = None
        if requirements.fit == "stretch":
            preserve = "none"
        else:
            target = page.width / page.height
            # pad grows the drawing's box to the page's shape, crop shrinks it to it.
            if (width / height > target) == (requirements.fit == "pad"):
                new_width, new_height = width, width / target
            else:
                new_width, new_height = height * target, height
            x, y = x + (width - new_width) / 2, y + (height - new_height) / 2
            width, height = new_width, new_height
        svg = set_root(
            svg,
            page.attribute(page.width),
            page.attribute(page.height),
            (round(x, 3), round(y, 3), round(width, 3), round(height, 3)),
            preserve,
        )
    colour = requirements.rgb()
    if colour is not None:
        match = _SVG_OPEN_TAG.search(svg)
        assert match is not None  # view_box() found it
        rect = (
            f'<rect x="{x:g}" y="{y:g}" width="{width:g}" height="{height:g}" '
            f'fill="#{colour[0]:02x}{colour[1]:02x}{colour[2]:02x}"/>'
        ).encode()
        svg = svg[: match.end()] + rect + svg[match.end() :]
    return svg


def shape_count(svg: bytes) -> int:
    """Filled shapes in an SVG (what a faithful PDF/EPS has one filled path for)."""
    return sum(svg.count(tag) for tag in SHAPE_TAGS)


def render_svg(svg: bytes, width: int, height: int) -> np.ndarray:
    """RGBA ``uint8`` rendering of ``svg`` at ``width``×``height`` with resvg (no system fonts).

    resvg-py refuses a root sized in millimetres ("invalid size"); the size given here decides
    the rendering anyway, so the root is given plain pixel lengths first.
    """
    match = _SVG_OPEN_TAG.search(svg)
    if match is not None and b'mm"' in match.group(0):
        svg = set_root(svg, str(width), str(height), view_box(svg), _preserve(match.group(0)))
    try:
        png = resvg_py.svg_to_bytes(
            svg_string=svg.decode("utf-8"),
            width=width,
            height=height,
            skip_system_fonts=True,
        )
    except (ValueError, RuntimeError, OSError) as exc:
        raise ProcessingFailed(f"the traced SVG cannot be rendered: {exc}") from exc
    with Image.open(io.BytesIO(bytes(png))) as image:
        rendered = np.asarray(image.convert("RGBA"))
    if rendered.shape[:2] != (height, width):
        rendered = cv2.resize(rendered, (width, height), interpolation=cv2.INTER_AREA)
    return rendered


def on_white(rgba: np.ndarray) -> np.ndarray:
    """RGB of ``rgba`` composited on white (how a customer sees a transparent logo)."""
    if rgba.shape[2] == 3:
        return rgba
    alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
    rgb = rgba[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    out: np.ndarray = np.round(rgb).astype(np.uint8)
    return out


def deliver_vector(result: EngineResult, requirements: Requirements) -> EngineResult:
    """The traced SVG ``result`` as the order asks: page, background, and each asked format.

    SVG, PDF and EPS are vector files of the same drawing; PNG/JPG are renderings of it at the
    asked pixels (or print size × DPI); a PSD cannot be made from a trace and fails its format
    check (a designer delivers it). Several formats are bundled into one ZIP.
    """
    picture = (result.width, result.height)
    svg = result.data
    if page_for(requirements, picture) is not None or requirements.rgb() is not None:
        svg = dress_svg(svg, requirements, picture)
    page = page_for(requirements, picture) or Page(float(picture[0]), float(picture[1]), "px")
    shapes = shape_count(svg)
    scale = RENDER_SIDE / max(page.points)
    preview_size = (max(1, round(page.points[0] * scale)), max(1, round(page.points[1] * scale)))
    preview = on_white(render_svg(svg, *preview_size))
    colour = requirements.rgb()
    base = replace(result, data=svg, metadata={**result.metadata, "shapes": shapes})
    parts: list[EngineResult] = []
    for fmt in requirements.formats or ("svg",):
        checks: list[QualityCheck] = []
        if fmt == "svg":
            data = svg
        elif fmt == "pdf":
            data = svg_to_pdf(svg)
            facts = read_pdf(data)
            checks += [
                check_vector_paths("pdf", facts.paths, facts.images, shapes),
                check_page_size("pdf", facts.size_pt, page.points),
                check_conversion(facts.rendering, preview),
            ]
            preview_of_file: np.ndarray = facts.rendering
        elif fmt == "eps":
            data = svg_to_eps(svg)
            eps = read_eps(data)
            checks += [
                check_eps_structure(eps),
                check_vector_paths("eps", eps.fills, eps.images, shapes),
                check_page_size("eps", eps.size_pt, page.points),
            ]
        elif fmt in RASTER_FORMATS:
            pixels = requirements.pixels(picture) or picture
            raster = Image.fromarray(render_svg(svg, *pixels), "RGBA")
            if colour is not None:
                raster = raster.convert("RGB")
            parts.append(raster_part(base, raster, requirements, fmt, pixels))
            continue
        else:
            parts.append(with_checks(base, format_mismatch(".svg", fmt)))
            continue
        if colour is not None:
            shown = preview_of_file if fmt == "pdf" else preview
            checks.append(check_background(Image.fromarray(shown), colour))
        parts.append(
            replace(
                base,
                data=data,
                extension=f".{fmt}",
                mime=MIME_TYPES[fmt],
                quality=QualityReport((*base.quality.checks, check_format(data, fmt), *checks)),
            )
        )
    return bundle(parts, result.quality.checks) if len(parts) > 1 else parts[0]


# --- writing ----------------------------------------------------------------------------------
def _drawing(svg: bytes) -> object:
    from reportlab.graphics.shapes import Group, Path
    from svglib.svglib import svg2rlg

    drawing = svg2rlg(io.BytesIO(svg))
    if drawing is None:
        raise ProcessingFailed("the SVG cannot be converted (svglib read nothing)")
    stack: list[object] = [drawing]
    while stack:
        node = stack.pop()
        if isinstance(node, Path):
            node.autoclose = "svg"
        if isinstance(node, Group) or hasattr(node, "contents"):
            stack.extend(getattr(node, "contents", []))
    return drawing


def svg_to_pdf(svg: bytes) -> bytes:
    """A one-page vector PDF of the SVG, the page the SVG's size (reproducible bytes)."""
    from reportlab.graphics import renderPDF

    try:
        return bytes(renderPDF.drawToString(_drawing(svg), invariant=1))
    except (ValueError, TypeError, AttributeError, OSError) as exc:
        raise ProcessingFailed(f"the SVG cannot be written as PDF: {exc}") from exc


def svg_to_eps(svg: bytes) -> bytes:
    """An EPS (EPSF-3.0) of the SVG, its bounding box the SVG's size."""
    from reportlab.graphics import renderPS

    try:
        return bytes(renderPS.drawToString(_drawing(svg)))
    except (ValueError, TypeError, AttributeError, OSError) as exc:
        raise ProcessingFailed(f"the SVG cannot be written as EPS: {exc}") from exc


# --- reading back -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PdfFacts:
    """What a PDF is, read with pdfium."""

    pages: int
    size_pt: tuple[float, float]
    paths: int
    images: int
    rendering: np.ndarray
    """RGB rendering of the first page, longest side :data:`RENDER_SIDE`, on white."""


RENDER_SIDE: Final = 256


def read_pdf(data: bytes) -> PdfFacts:
    """Open ``data`` as a PDF and describe its first page; ProcessingFailed if it is none."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise ProcessingFailed(f"the PDF cannot be read back: {exc}") from exc
    try:
        pages = len(document)
        if pages == 0:
            raise ProcessingFailed("the PDF has no page")
        page = document[0]
        width, height = page.get_size()
        kinds = [obj.type for obj in page.get_objects(max_depth=8)]
        bitmap = page.render(scale=RENDER_SIDE / max(width, height), rev_byteorder=True)
        rendering = np.asarray(bitmap.to_pil().convert("RGB"))
        return PdfFacts(
            pages=pages,
            size_pt=(float(width), float(height)),
            paths=kinds.count(pdfium_c.FPDF_PAGEOBJ_PATH),
            images=kinds.count(pdfium_c.FPDF_PAGEOBJ_IMAGE),
            rendering=rendering,
        )
    finally:
        document.close()


@dataclass(frozen=True, slots=True)
class EpsFacts:
    """What an EPS is, read by tokenizing its PostScript."""

    header: bool
    """Starts with ``%!PS-Adobe-… EPSF-…``."""
    size_pt: tuple[float, float]
    """Width and height of ``%%BoundingBox`` (0, 0 when missing)."""
    fills: int
    images: int
    balanced: bool
    """Every ``gsave`` has its ``grestore``."""


def read_eps(data: bytes) -> EpsFacts:
    """Tokenize an EPS: its header, bounding box, fill and image operators."""
    first = data.split(b"\n", 1)[0]
    header = first.startswith(b"%!PS-Adobe-") and b"EPSF-" in first
    size = (0.0, 0.0)
    box = _BOUNDING_BOX.search(data)
    if box:
        x0, y0, x1, y1 = (float(v) for v in box.group(1).split())
        size = (x1 - x0, y1 - y0)
    fills = images = depth = 0
    balanced = True
    for token in _PS_TOKEN.findall(data):
        if token in (b"fill", b"eofill"):
            fills += 1
        elif token in (b"image", b"colorimage", b"imagemask"):
            images += 1
        elif token == b"gsave":
            depth += 1
        elif token == b"grestore":
            depth -= 1
            balanced = balanced and depth >= 0
    return EpsFacts(header, size, fills, images, balanced and depth == 0)


# --- checks -----------------------------------------------------------------------------------
def check_vector_paths(kind: str, paths: int, images: int, shapes: int) -> QualityCheck:
    """The file draws every shape of the SVG as a filled path and embeds no raster picture."""
    passed = paths >= shapes and images == 0 and shapes > 0
    message = ""
    if images:
        message = f"{kind.upper()} 里嵌着 {images} 张位图，不是矢量文件"
    elif not passed:
        message = f"{kind.upper()} 只有 {paths} 个填充路径，SVG 有 {shapes} 个形状"
    return QualityCheck(
        name=f"{kind}_vector_paths",
        value=float(paths),
        threshold=float(shapes),
        comparison=">=",
        passed=passed,
        message=message,
    )


def check_page_size(
    kind: str, actual: tuple[float, float], wanted: tuple[float, float]
) -> QualityCheck:
    """The page (PDF MediaBox, EPS BoundingBox) is the asked size in points."""
    error = max(abs(a - w) for a, w in zip(actual, wanted, strict=True))
    return QualityCheck.at_most(
        f"{kind}_page_pt",
        error,
        PAGE_TOLERANCE_PT,
        f"{kind.upper()} 页面 {actual[0]:.0f}×{actual[1]:.0f} pt，"
        f"要求 {wanted[0]:.0f}×{wanted[1]:.0f} pt",
    )


def check_conversion(rendered: np.ndarray, reference: np.ndarray) -> QualityCheck:
    """The written file, rendered, looks like the SVG it was made from."""
    value = render_difference(reference, rendered)
    return QualityCheck.at_most(
        "conversion_difference",
        value,
        MAX_CONVERSION_DIFFERENCE,
        f"转换后的文件和 SVG 看起来不一样（差 {value:.1f}）",
    )


def check_eps_structure(facts: EpsFacts) -> QualityCheck:
    """The EPS has its EPSF header and balanced graphics states."""
    return QualityCheck.holds(
        "eps_structure", facts.header and facts.balanced, "EPS 文件头或结构不完整"
    )


def _preserve(tag: bytes) -> str | None:
    match = re.search(rb'preserveAspectRatio="([^"]*)"', tag)
    return match.group(1).decode() if match else None


def _length(value: str | None) -> float:
    if not value:
        raise ProcessingFailed("the SVG has neither a viewBox nor a width and height")
    match = re.match(r"\s*([\d.]+)", value)
    if match is None:
        raise ProcessingFailed(f"the SVG's size {value!r} is not a number")
    return float(match.group(1))
