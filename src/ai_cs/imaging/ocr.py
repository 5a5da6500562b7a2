"""Reading text in pictures (OCR) behind a small :class:`OcrEngine` protocol.

The real engine is RapidOCR 3.x (PP-OCR models shipped inside its wheel, run by onnxruntime,
Chinese and English, fully offline). It is loaded lazily, once per process, and calls are
serialised by a lock: onnxruntime already uses every core for one picture, so parallel calls
would only contend. Tests that do not care about text use :class:`StaticOcr`.
"""

from __future__ import annotations

import logging
import math
import threading
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

import cv2
import numpy as np
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from numpy.typing import NDArray

OCR_MAX_SIDE: Final = 1600
"""Longest side the OCR sees; larger pictures are scaled down first (speed, memory)."""
OCR_MAX_ASPECT: Final = 4.0
"""Narrower pictures are padded (white, bottom/right) to this ratio before OCR: RapidOCR scales
the short side up to 736 px, so a 1×5000 strip would otherwise become a gigapixel canvas."""
DET_MAX_SIDE: Final = 512
"""Longest side the text detector sees. RapidOCR's default scales the *short* side up to 736 px,
so a 4:1 picture became a 2944×736 tensor (≈ 600 MB of activations, kept as peak RSS) and a
tiny warm-up picture cost as much; a 1 MP poster was detected at full size. Detection is most
of the OCR's time and grows with the pixels; text a customer pays to have retouched stays
readable at 512 px (the labelled set in ``ai_cs.bench.labelled`` reads as many characters as
the default does, see BENCHMARKS.md), and recognition still reads each line from the picture
at up to :data:`OCR_MAX_SIDE`."""
MIN_SCORE: Final = 0.6
"""Lines the recogniser is less sure of than this are dropped (noise reads as junk text)."""
ANGLE_RETRY_BELOW: Final = 0.85
"""A line-shaped box read less surely than this sends the picture through the angle classifier
(a line upside down reads at 0.6–0.8; upright printed lines at 0.95 and more)."""


class OcrLine(BaseModel):
    """One line of text: what it says, where (4 corner points, picture pixels), how sure."""

    text: str
    box: list[tuple[float, float]] = Field(default_factory=list)
    score: float = 1.0


@runtime_checkable
class OcrEngine(Protocol):
    """Anything that reads text lines from an RGB picture."""

    def read(self, rgb: NDArray[np.uint8]) -> list[OcrLine]:
        """Text lines in ``rgb`` (H×W×3, uint8), boxes in its pixel coordinates."""
        ...


class StaticOcr:
    """A fake engine that returns the same lines for every picture (tests, offline demos)."""

    def __init__(self, lines: list[OcrLine] | list[str] | None = None) -> None:
        self.lines = [
            line if isinstance(line, OcrLine) else OcrLine(text=line) for line in (lines or [])
        ]
        self.calls = 0

    def read(self, rgb: NDArray[np.uint8]) -> list[OcrLine]:  # noqa: ARG002 - fixed answer
        """The configured lines."""
        self.calls += 1
        return [line.model_copy() for line in self.lines]


class RapidOcrEngine:
    """RapidOCR with the models from its wheel; quiet, lazy and thread-safe."""

    def __init__(
        self,
        max_side: int = OCR_MAX_SIDE,
        min_score: float = MIN_SCORE,
        *,
        det_side: int = DET_MAX_SIDE,
        threads: int = 0,
    ) -> None:
        self.max_side = max_side
        self.min_score = min_score
        self.det_side = det_side
        self.threads = threads
        self._engine: Any = None
        self._load_lock = threading.Lock()
        self._call_lock = threading.Lock()

    def _load(self) -> Any:
        if self._engine is None:
            with self._load_lock:
                if self._engine is None:
                    from rapidocr import RapidOCR

                    # RapidOCR logs model paths at INFO on its own stream handler.
                    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
                    self._engine = RapidOCR(
                        params={
                            "Global.log_level": "error",
                            "Global.text_score": 0.0,  # weak lines too: see read()
                            "Det.limit_type": "max",
                            "Det.limit_side_len": self.det_side,
                            # One analysis per core: a worker process per core sets 1, a
                            # single process keeps onnxruntime's default (-1: every core).
                            "EngineConfig.onnxruntime.intra_op_num_threads": self.threads or -1,
                        }
                    )
        return self._engine

    def warm_up(self) -> None:
        """Load the models now (the first call otherwise pays about a second)."""
        self.read(np.full((64, 256, 3), 255, dtype=np.uint8))

    def read(self, rgb: NDArray[np.uint8]) -> list[OcrLine]:
        """Text lines in ``rgb``; the picture is scaled to at most ``max_side`` first."""
        height, width = rgb.shape[:2]
        scale = min(1.0, self.max_side / max(height, width, 1))
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            rgb = np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
        bgr = np.ascontiguousarray(_pad_to_aspect(rgb, OCR_MAX_ASPECT)[:, :, ::-1])
        engine = self._load()
        with self._call_lock:
            # The angle classifier only helps with lines upside down, which then read badly:
            # it runs (a second pass) only when a line-shaped box read below the bar.
            result = engine(bgr, use_cls=False)
            if any(_weak_line(line) for line in _lines(result, 1.0, 0.0)):
                result = engine(bgr, use_cls=True)
        return [
            line
            for line in _lines(result, scale, self.min_score)
            if plausible_text(line, width, height)
        ]


MAX_CHAR_AREA_SHARE: Final = 0.12
"""A glyph covering more than this share of the picture is a shape, not text (a title of a few
large characters on a poster stays well below it)."""

SHAPE_GLYPHS: Final = frozenset("一丨|｜0OoIl1-_—.,·。口○〇")
"""Single characters the recogniser reads into plain shapes (a bar, a ring, an edge)."""


def _polygon_area(points: list[tuple[float, float]]) -> float:
    area = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
        area += x1 * y2 - x2 * y1
    return abs(area) / 2.0


def plausible_text(line: OcrLine, width: int, height: int) -> bool:
    """Whether a recognised line is text rather than a shape read as a glyph.

    Flat pictures (a product on a plain background, a logo) make the recogniser report a lone
    "一" or "0" over the whole shape; such lines would wrongly trigger the text surcharge.
    """
    chars = len("".join(line.text.split()))
    if chars == 0:
        return False
    if chars == 1 and line.text.strip() in SHAPE_GLYPHS:
        return False
    share = _polygon_area(list(line.box)) / max(1.0, float(width * height)) / chars
    return share <= MAX_CHAR_AREA_SHARE


def _weak_line(line: OcrLine) -> bool:
    """A box shaped like a line of text (at least two glyphs wide) that read unsurely."""
    if line.score >= ANGLE_RETRY_BELOW or len(line.box) < 4:
        return False
    (x0, y0), (x1, y1), _, (x3, y3) = line.box[:4]
    width = math.hypot(x1 - x0, y1 - y0)
    height = math.hypot(x3 - x0, y3 - y0)
    return height >= 8 and width >= 2 * height


def _pad_to_aspect(rgb: NDArray[np.uint8], max_aspect: float) -> NDArray[np.uint8]:
    """``rgb`` padded with white so no side exceeds ``max_aspect`` times the other.

    The padding goes at the bottom or right, which leaves the text boxes' coordinates unchanged.
    """
    height, width = rgb.shape[:2]
    target_h = max(height, int(np.ceil(width / max_aspect)))
    target_w = max(width, int(np.ceil(height / max_aspect)))
    if (target_h, target_w) == (height, width):
        return rgb
    padded = np.full((target_h, target_w, 3), 255, dtype=np.uint8)
    padded[:height, :width] = rgb[:, :, :3]
    return padded


def _lines(result: Any, scale: float, min_score: float) -> list[OcrLine]:
    txts = getattr(result, "txts", None)
    boxes = getattr(result, "boxes", None)
    scores = getattr(result, "scores", None)
    if not txts or boxes is None or scores is None:
        return []
    lines: list[OcrLine] = []
    for text, box, score in zip(txts, boxes, scores, strict=False):
        if not str(text).strip() or float(score) < min_score:
            continue
        points = [(float(x) / scale, float(y) / scale) for x, y in np.asarray(box).reshape(-1, 2)]
        lines.append(OcrLine(text=str(text).strip(), box=points, score=round(float(score), 4)))
    return lines


_DEFAULT: RapidOcrEngine | None = None
_DEFAULT_LOCK = threading.Lock()


def default_ocr() -> RapidOcrEngine:
    """The process-wide RapidOCR engine (created on first use, models loaded on first read).

    Its onnxruntime threads come from ``AICS_ANALYSIS_THREADS`` (0 = one per core).
    """
    global _DEFAULT
    if _DEFAULT is None:
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                from ai_cs.config import get_settings

                _DEFAULT = RapidOcrEngine(threads=get_settings().analysis_threads)
    return _DEFAULT
