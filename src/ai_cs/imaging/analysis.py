"""Picture analysis (图片识别): size, ratio, complexity, perspective, sharpness, text, seals.

Everything is measured, nothing guessed from names. Each measurement works on a scaled copy so
results do not depend much on the picture's resolution:

* **Complexity** (复杂度) on a copy at most :data:`WORK_SIDE` px long. Four features, each
  scored 0, 1 or 2 against two thresholds (:data:`COMPLEXITY_THRESHOLDS`):

  - ``edge_density``: share of Canny edge pixels (100/200) — outlines and texture;
  - ``colours``: how many of the 4096 colours (4 bits per channel) it takes to cover 95 % of the
    pixels — a flat logo needs a handful, a photo hundreds;
  - ``entropy``: Shannon entropy of the grey histogram in bits (0-8) — tonal richness;
  - ``detail``: mean absolute Laplacian — fine high-frequency detail and noise.

  The sum (0-8) gives ``simple`` (≤ 2), ``normal`` (3-5) or ``complex`` (≥ 6).
* **Perspective** (透视): the largest convex quadrilateral contour (from an Otsu mask and from
  Canny edges) covering at least :data:`QUAD_MIN_AREA` of the picture and not just the picture's
  own frame. When one of its corners is more than :data:`QUAD_MAX_ANGLE_DEV` degrees off 90°
  (a page seen at an angle), or it is a rectangle whose sides are turned more than
  :data:`QUAD_MAX_TILT` but at most :data:`QUAD_ROTATED_MAX_TILT` degrees off the axes (a page
  lying crooked), the picture is a document/sign/screen shot at an angle: ``"yes"`` with the
  four corners (top-left, top-right, bottom-right, bottom-left), else ``"no"``.
* **Sharpness**: variance of the Laplacian of the grey copy at most 1000 px long;
  below :data:`BLURRY_BELOW` the picture counts as blurry.
* **Resolution class** by megapixels: tiny < 0.1, small < 0.5, medium < 4, large ≥ 4.
* **Text** by OCR (:mod:`ai_cs.imaging.ocr`): lines, how many characters, and the share of the
  picture covered by text boxes.
* **Red seal** (公章): red pixels (HSV) forming a round blob whose rim is mostly red.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final, Literal

import cv2
import numpy as np
from PIL import Image
from pydantic import BaseModel, Field

from ai_cs.core.pricing import Complexity, QuoteFeatures
from ai_cs.core.risk import RiskInput
from ai_cs.core.tasks import Operation
from ai_cs.imaging.ocr import OcrEngine, OcrLine, default_ocr

if TYPE_CHECKING:
    from numpy.typing import NDArray

WORK_SIDE: Final = 800
SHARPNESS_SIDE: Final = 1000
BLURRY_BELOW: Final = 100.0
TEXT_MIN_CHARS: Final = 2
"""Fewer characters than this is noise, not text (``text.found`` is False)."""

COMPLEXITY_THRESHOLDS: Final[dict[str, tuple[float, float]]] = {
    "edge_density": (0.04, 0.12),
    "colours": (24.0, 300.0),
    "entropy": (4.5, 6.8),
    "detail": (5.0, 14.0),
}
SIMPLE_MAX_SCORE: Final = 2
NORMAL_MAX_SCORE: Final = 5

QUAD_MIN_AREA: Final = 0.15
QUAD_MAX_ANGLE_DEV: Final = 5.0
QUAD_MAX_TILT: Final = 4.0
QUAD_ROTATED_MAX_TILT: Final = 30.0
"""A true rectangle turned further than this is a design (a diamond), not a page on a desk."""
FRAME_MARGIN: Final = 0.02

COMMON_RATIOS: Final[tuple[tuple[str, float], ...]] = (
    ("1:1", 1.0),
    ("5:4", 5 / 4),
    ("4:5", 4 / 5),
    ("4:3", 4 / 3),
    ("3:4", 3 / 4),
    ("3:2", 3 / 2),
    ("2:3", 2 / 3),
    ("16:10", 16 / 10),
    ("10:16", 10 / 16),
    ("16:9", 16 / 9),
    ("9:16", 9 / 16),
    ("2:1", 2.0),
    ("1:2", 0.5),
    ("21:9", 21 / 9),
    ("9:21", 9 / 21),
    ("3:1", 3.0),
    ("1:3", 1 / 3),
)

RESOLUTION_CLASSES: Final[tuple[tuple[str, float], ...]] = (
    ("tiny", 0.1),
    ("small", 0.5),
    ("medium", 4.0),
)


class ComplexityMetrics(BaseModel):
    """The measured features behind the complexity class, and their score."""

    edge_density: float
    colours: int
    entropy: float
    detail: float
    score: int


class TextInfo(BaseModel):
    """What the OCR read."""

    found: bool
    lines: list[OcrLine] = Field(default_factory=list)
    char_count: int = 0
    area_ratio: float = 0.0

    @property
    def text(self) -> str:
        """All lines joined with newlines."""
        return "\n".join(line.text for line in self.lines)


class Analysis(BaseModel):
    """Everything measured about one picture."""

    width: int
    height: int
    aspect_ratio: str
    aspect_ratio_value: float
    megapixels: float
    resolution: Literal["tiny", "small", "medium", "large"]
    complexity: Complexity
    complexity_metrics: ComplexityMetrics
    perspective: Literal["yes", "no"]
    perspective_quad: list[tuple[float, float]] | None = None
    sharpness: float
    blurry: bool
    red_seal: bool
    text: TextInfo

    def to_requirements(self) -> dict[str, Any]:
        """The seed's ``requirements`` JSON (复杂度、比例、透视等) for the task row."""
        return {
            "complexity": self.complexity.value,
            "aspect_ratio": self.aspect_ratio,
            "perspective": self.perspective,
            "perspective_quad": (
                [list(p) for p in self.perspective_quad] if self.perspective_quad else None
            ),
            "width": self.width,
            "height": self.height,
            "resolution": self.resolution,
            "sharpness": self.sharpness,
            "blurry": self.blurry,
            "text_found": self.text.found,
            "text_chars": self.text.char_count,
            "text_area_ratio": self.text.area_ratio,
            "text": self.text.text,
            "red_seal": self.red_seal,
        }

    def to_quote_features(self, *, rush: bool = False) -> QuoteFeatures:
        """The facts :func:`ai_cs.core.pricing.quote` prices on."""
        return QuoteFeatures(
            complexity=self.complexity,
            text_chars=self.text.char_count if self.text.found else 0,
            text_area_ratio=min(1.0, self.text.area_ratio),
            perspective=self.perspective == "yes",
            megapixels=self.megapixels,
            rush=rush,
        )

    def to_risk_input(
        self,
        *,
        operation: Operation | None = None,
        request_text: str = "",
        refunds: int = 0,
        declines: int = 0,
    ) -> RiskInput:
        """The facts :func:`ai_cs.core.risk.assess_risk` decides on."""
        return RiskInput(
            ocr_lines=[line.text for line in self.text.lines],
            red_seal=self.red_seal,
            width=self.width,
            height=self.height,
            operation=operation,
            request_text=request_text,
            refunds=refunds,
            declines=declines,
        )


# --- single measurements ----------------------------------------------------------------------
def aspect_ratio(width: int, height: int) -> tuple[str, float]:
    """The nearest common ratio (compared on a log scale) and the exact ``width / height``."""
    exact = width / height if height else 0.0
    if exact <= 0:
        return "0:0", 0.0
    name = min(COMMON_RATIOS, key=lambda item: abs(math.log(exact / item[1])))[0]
    return name, round(exact, 4)


def resolution_class(megapixels: float) -> Literal["tiny", "small", "medium", "large"]:
    """The size class: tiny < 0.1 MP ≤ small < 0.5 MP ≤ medium < 4 MP ≤ large."""
    if megapixels < 0.1:
        return "tiny"
    if megapixels < 0.5:
        return "small"
    if megapixels < 4.0:
        return "medium"
    return "large"


def _scaled(rgb: NDArray[np.uint8], max_side: int) -> tuple[NDArray[np.uint8], float]:
    height, width = rgb.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale >= 1.0:
        return rgb, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return resized, scale


def _level(value: float, thresholds: tuple[float, float]) -> int:
    low, high = thresholds
    return 0 if value < low else 1 if value < high else 2


def measure_complexity(rgb: NDArray[np.uint8]) -> tuple[Complexity, ComplexityMetrics]:
    """Complexity class and the features behind it (see the module docstring)."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    edges = cv2.Canny(gray, 100, 200)
    edge_density = float(np.count_nonzero(edges)) / edges.size

    quant = (rgb >> 4).astype(np.int32)
    codes = (quant[:, :, 0] << 8) | (quant[:, :, 1] << 4) | quant[:, :, 2]
    counts = np.sort(np.bincount(codes.ravel(), minlength=4096))[::-1]
    covered = np.cumsum(counts) / codes.size
    colours = int(np.searchsorted(covered, 0.95) + 1)

    hist = np.bincount(gray.ravel(), minlength=256).astype(np.float64) / gray.size
    nonzero = hist[hist > 0]
    entropy = float(-(nonzero * np.log2(nonzero)).sum())

    detail = float(np.abs(cv2.Laplacian(gray, cv2.CV_32F)).mean())

    values = {
        "edge_density": edge_density,
        "colours": float(colours),
        "entropy": entropy,
        "detail": detail,
    }
    score = sum(_level(values[name], COMPLEXITY_THRESHOLDS[name]) for name in values)
    if score <= SIMPLE_MAX_SCORE:
        level = Complexity.SIMPLE
    elif score <= NORMAL_MAX_SCORE:
        level = Complexity.NORMAL
    else:
        level = Complexity.COMPLEX
    metrics = ComplexityMetrics(
        edge_density=round(edge_density, 4),
        colours=colours,
        entropy=round(entropy, 3),
        detail=round(detail, 3),
        score=score,
    )
    return level, metrics


def sharpness(rgb: NDArray[np.uint8]) -> float:
    """Variance of the Laplacian on a grey copy at most 1000 px long (higher = sharper)."""
    small, _ = _scaled(rgb, SHARPNESS_SIDE)
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    return round(float(cv2.Laplacian(gray, cv2.CV_64F).var()), 2)


def _order_corners(points: NDArray[np.float64]) -> NDArray[np.float64]:
    """The corners of a convex quad in contour order, as TL, TR, BR, BL."""
    x, y = points[:, 0], points[:, 1]
    signed = float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))
    if signed < 0:  # make the walk clockwise on screen (y grows downwards)
        points = points[::-1]
    start = int(np.argmin(points.sum(axis=1)))  # top-left: smallest x + y
    return np.roll(points, -start, axis=0)


def _quad_geometry(quad: NDArray[np.float64]) -> tuple[float, float]:
    """Largest deviation of a corner from 90° and of a side from the nearest axis, in degrees."""
    angle_dev, tilt = 0.0, 0.0
    for i in range(4):
        prev, point, nxt = quad[i - 1], quad[i], quad[(i + 1) % 4]
        a, b = prev - point, nxt - point
        cos = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))
        angle = math.degrees(math.acos(max(-1.0, min(1.0, cos))))
        angle_dev = max(angle_dev, abs(angle - 90.0))
        dx, dy = nxt - point
        side = math.degrees(math.atan2(abs(float(dy)), abs(float(dx))))  # 0..90
        tilt = max(tilt, min(side, 90.0 - side))
    return angle_dev, tilt


def find_perspective(
    rgb: NDArray[np.uint8],
) -> tuple[Literal["yes", "no"], list[tuple[float, float]] | None]:
    """``("yes", corners)`` for a tilted quadrilateral document/sign/screen, else ``("no", …)``."""
    small, scale = _scaled(rgb, WORK_SIDE)
    height, width = small.shape[:2]
    area = float(height * width)
    gray = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (5, 5), 0)
    kernel = np.ones((5, 5), np.uint8)
    _, otsu = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    masks = [
        cv2.morphologyEx(otsu, cv2.MORPH_CLOSE, kernel),
        cv2.morphologyEx(255 - otsu, cv2.MORPH_CLOSE, kernel),
        cv2.dilate(cv2.Canny(gray, 50, 150), kernel),
    ]
    best: NDArray[np.float64] | None = None
    best_area = 0.0
    for mask in masks:
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:5]:
            contour_area = float(cv2.contourArea(contour))
            if contour_area < QUAD_MIN_AREA * area:
                break
            hull = cv2.convexHull(contour)
            approx = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
            if len(approx) != 4 or not cv2.isContourConvex(approx):
                continue
            quad = _order_corners(approx.reshape(4, 2).astype(np.float64))
            if _is_frame(quad, width, height):
                continue
            quad_area = float(cv2.contourArea(quad.astype(np.float32)))
            if quad_area > best_area:
                best, best_area = quad, quad_area
    if best is None:
        return "no", None
    angle_dev, tilt = _quad_geometry(best)
    corners = [(round(float(x) / scale, 1), round(float(y) / scale, 1)) for x, y in best]
    if angle_dev > QUAD_MAX_ANGLE_DEV or QUAD_MAX_TILT < tilt <= QUAD_ROTATED_MAX_TILT:
        return "yes", corners
    return "no", corners


def _is_frame(quad: NDArray[np.float64], width: int, height: int) -> bool:
    """Whether every corner sits on the picture's own corner (the quad is the picture)."""
    frame = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]])
    margin = FRAME_MARGIN * max(width, height)
    return bool(np.all(np.linalg.norm(quad - frame, axis=1) <= margin))


SEAL_INNER_RADIUS = 0.7
SEAL_MAX_INNER_FILL = 0.6
"""Share of a stamp's inside (within 70 % of its radius) that may be red: text and a star."""


def find_red_seal(rgb: NDArray[np.uint8]) -> bool:
    """Whether a red round stamp (公章) is present: a red blob that is round with a red rim."""
    small, _ = _scaled(rgb, WORK_SIDE)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    hue, sat, val = hsv[:, :, 0], hsv[:, :, 1], hsv[:, :, 2]
    red = ((hue <= 10) | (hue >= 170)) & (sat >= 90) & (val >= 70)
    mask = red.astype(np.uint8) * 255
    if np.count_nonzero(mask) < 0.001 * mask.size:
        return False
    closed = np.asarray(
        cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8)), dtype=np.uint8
    )
    contours, _ = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    min_radius = 0.04 * min(small.shape[:2])
    for contour in contours:
        (cx, cy), radius = cv2.minEnclosingCircle(contour)
        if radius < min_radius:
            continue
        x, y, w, h = cv2.boundingRect(contour)
        if not 0.8 <= w / max(h, 1) <= 1.25:
            continue
        hull_area = float(cv2.contourArea(cv2.convexHull(contour)))
        if hull_area < 0.75 * math.pi * radius * radius:
            continue
        # The rim: sample the ring between 80 % and 100 % of the radius.
        ring = np.zeros(mask.shape, np.uint8)
        cv2.circle(ring, (round(cx), round(cy)), round(radius), 255, -1)
        cv2.circle(ring, (round(cx), round(cy)), round(radius * 0.8), 0, -1)
        ring_pixels = np.count_nonzero(ring)
        if not ring_pixels or np.count_nonzero(closed & ring) / ring_pixels < 0.4:
            continue
        # A stamp is a rim around thin red text on paper; a solid red disc (a product, a
        # ball, a logo dot) is red all through and is not one.
        inner = np.zeros(mask.shape, np.uint8)
        cv2.circle(inner, (round(cx), round(cy)), round(radius * SEAL_INNER_RADIUS), 255, -1)
        inner_pixels = np.count_nonzero(inner)
        if inner_pixels and np.count_nonzero(mask & inner) / inner_pixels <= SEAL_MAX_INNER_FILL:
            return True
    return False


def read_text(rgb: NDArray[np.uint8], ocr: OcrEngine) -> TextInfo:
    """OCR lines, character count and the share of the picture covered by text boxes."""
    lines = [line for line in ocr.read(rgb) if line.text.strip()]
    chars = sum(len("".join(line.text.split())) for line in lines)
    height, width = rgb.shape[:2]
    ratio = 0.0
    if lines and width and height:
        # Rasterise the boxes on a small canvas so overlapping boxes are counted once.
        scale = min(1.0, 400 / max(width, height))
        canvas = np.zeros((max(1, round(height * scale)), max(1, round(width * scale))), np.uint8)
        for line in lines:
            if len(line.box) >= 3:
                pts = np.array([[x * scale, y * scale] for x, y in line.box], dtype=np.int32)
                cv2.fillPoly(canvas, [pts], 255)
        ratio = round(float(np.count_nonzero(canvas)) / canvas.size, 4)
    return TextInfo(found=chars >= TEXT_MIN_CHARS, lines=lines, char_count=chars, area_ratio=ratio)


def to_rgb_array(image: Image.Image) -> NDArray[np.uint8]:
    """RGB pixels; transparent areas shown on white, as a customer would see them."""
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _scale_text(text: TextInfo, factor: float) -> TextInfo:
    """``text`` with its boxes in coordinates ``factor`` times larger (the area share stays)."""
    for line in text.lines:
        line.box = [(round(x * factor, 1), round(y * factor, 1)) for x, y in line.box]
    return text


def analyze_image(
    image: Image.Image,
    *,
    ocr: OcrEngine | None = None,
    full_size: tuple[int, int] | None = None,
) -> Analysis:
    """Measure everything about ``image``; ``ocr`` defaults to the shared RapidOCR engine.

    ``image`` may be a reduced copy of the picture (every measurement works at most
    :data:`~ai_cs.imaging.limits.ANALYSIS_SIDE` px long anyway); ``full_size`` is then the
    picture's own width and height, which the report gives and the coordinates refer to.
    """
    rgb = to_rgb_array(image)
    height, width = rgb.shape[:2]
    factor = 1.0
    if full_size is not None and full_size != (width, height):
        factor = full_size[0] / width
        width, height = full_size
    small, _ = _scaled(rgb, WORK_SIDE)
    level, metrics = measure_complexity(small)
    perspective, quad = find_perspective(rgb)
    if quad is not None and factor != 1.0:
        quad = [(round(x * factor, 1), round(y * factor, 1)) for x, y in quad]
    sharp = sharpness(rgb)
    megapixels = round(width * height / 1e6, 3)
    ratio_name, ratio_value = aspect_ratio(width, height)
    text = read_text(rgb, ocr if ocr is not None else default_ocr())
    if factor != 1.0:
        text = _scale_text(text, factor)
    return Analysis(
        width=width,
        height=height,
        aspect_ratio=ratio_name,
        aspect_ratio_value=ratio_value,
        megapixels=megapixels,
        resolution=resolution_class(megapixels),
        complexity=level,
        complexity_metrics=metrics,
        perspective=perspective,
        perspective_quad=quad if perspective == "yes" else None,
        sharpness=sharp,
        blurry=sharp < BLURRY_BELOW,
        red_seal=find_red_seal(rgb),
        text=text,
    )
