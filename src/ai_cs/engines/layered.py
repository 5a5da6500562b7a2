"""Cut-out with layers (抠图分层): a layered PSD for the customer's own design tool.

Layers, top to bottom:

* ``主体 subject`` — the cut-out (transparent around the subject), cropped to its bounding box;
* ``背景 background`` — the original with the subject removed and the hole filled by inpainting,
  so the subject can be moved or replaced without leaving a ghost;
* ``原图 original`` — the untouched picture, hidden, for reference.

The mask is made by the same segmenter as ``remove_bg`` and checked by the same checks; the
written PSD is read back with psd-tools to make sure it really has its named layers.
"""

from __future__ import annotations

import io
import time
from typing import Final

import cv2
import numpy as np
from PIL import Image
from psd_tools import PSDImage

from ai_cs.core.tasks import Operation
from ai_cs.engines.base import (
    EngineOptions,
    EngineResult,
    ImageInput,
    QualityReport,
    resize_to_side,
    split_alpha,
    to_pil,
)
from ai_cs.engines.quality import check_psd_layers
from ai_cs.engines.remove_bg import GrabCutEngine, Segmenter, compose_rgba

SUBJECT_LAYER: Final = "主体 subject"
BACKGROUND_LAYER: Final = "背景 background"
ORIGINAL_LAYER: Final = "原图 original"

INPAINT_SIDE: Final = 512
"""Inpainting works at this size: the fill is a smooth guess anyway, and TELEA at full size takes
seconds for a large hole."""

HOLE_GROW: Final = 0.01
"""The hole is grown by 1 % of the longest side so the subject's soft edge and colour fringe are
filled too, not left as a ghost outline on the background."""

PSD_MIME: Final = "image/vnd.adobe.photoshop"


class LayeredEngine:
    """Subject, filled background and hidden original as a layered PSD."""

    name = "layered-psd"
    operation = Operation.REMOVE_BG_AND_LAYER

    def __init__(self, segmenter: Segmenter | None = None) -> None:
        self.segmenter: Segmenter = segmenter or GrabCutEngine()

    def process(self, image: ImageInput, options: EngineOptions) -> EngineResult:  # noqa: ARG002
        """The layered PSD and the cut-out's quality report (plus a read-back check)."""
        started = time.perf_counter()
        picture = to_pil(image)
        rgb, existing_alpha = split_alpha(picture)
        cutout = self.segmenter.segment(rgb)
        alpha = cutout.alpha
        if existing_alpha is not None:
            alpha = np.minimum(alpha, existing_alpha.astype(np.float32) / 255.0)
        background = fill_subject_hole(rgb, alpha)
        data = build_psd(np.asarray(picture), background, compose_rgba(rgb, alpha))
        names = layer_names(data)
        checks = (*cutout.checks, check_psd_layers(names, (SUBJECT_LAYER, BACKGROUND_LAYER)))
        height, width = rgb.shape[:2]
        return EngineResult(
            operation=self.operation,
            engine=f"{self.name}+{self.segmenter.name}",
            data=data,
            extension=".psd",
            mime=PSD_MIME,
            width=width,
            height=height,
            quality=QualityReport(checks),
            elapsed_ms=(time.perf_counter() - started) * 1000.0,
            metadata={**cutout.metadata, "layers": names},
        )


def fill_subject_hole(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The picture with the subject painted out (TELEA inpainting at :data:`INPAINT_SIDE`)."""
    height, width = rgb.shape[:2]
    grow = max(1, round(HOLE_GROW * max(height, width)))
    hole: np.ndarray = (alpha > 0.02).astype(np.uint8) * 255
    hole = cv2.dilate(hole, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
    if not hole.any():
        return rgb.copy()
    small, _ = resize_to_side(rgb, INPAINT_SIDE)
    small_hole = cv2.resize(hole, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA)
    small_hole = np.where(small_hole > 0, 255, 0).astype(np.uint8)
    filled = cv2.inpaint(small, small_hole, 5, cv2.INPAINT_TELEA)
    if filled.shape[:2] != (height, width):
        filled = cv2.resize(filled, (width, height), interpolation=cv2.INTER_CUBIC)
    # Feather the seam so the full-resolution background meets the soft fill without a step.
    weight = cv2.GaussianBlur(hole.astype(np.float32) / 255.0, (0, 0), max(1.0, grow / 2))
    weight = np.maximum(weight, hole.astype(np.float32) / 255.0)[:, :, np.newaxis]
    out = rgb.astype(np.float32) * (1.0 - weight) + filled.astype(np.float32) * weight
    background: np.ndarray = np.round(out).astype(np.uint8)
    return background


def build_psd(original: np.ndarray, background: np.ndarray, subject_rgba: np.ndarray) -> bytes:
    """PSD bytes with the three named layers (original hidden, subject cropped to its box)."""
    height, width = background.shape[:2]
    psd = PSDImage.new("RGBA", (width, height))
    _add_layer(psd, Image.fromarray(original).convert("RGBA"), ORIGINAL_LAYER, visible=False)
    _add_layer(psd, Image.fromarray(background).convert("RGBA"), BACKGROUND_LAYER)
    box = _opaque_box(subject_rgba[:, :, 3])
    top, left, bottom, right = box if box is not None else (0, 0, height, width)
    subject = Image.fromarray(np.ascontiguousarray(subject_rgba[top:bottom, left:right]))
    _add_layer(psd, subject, SUBJECT_LAYER, top=top, left=left)
    buffer = io.BytesIO()
    psd.save(buffer)
    return buffer.getvalue()


def layer_names(data: bytes) -> list[str]:
    """Names of the top-level layers of a PSD (bottom first), read back with psd-tools."""
    psd = PSDImage.open(io.BytesIO(data))
    return [layer.name for layer in psd]


def _add_layer(
    psd: PSDImage,
    image: Image.Image,
    name: str,
    top: int = 0,
    left: int = 0,
    visible: bool = True,
) -> None:
    # psd-tools writes the creation name as a MacRoman Pascal string and fails on Chinese; the
    # name setter stores it as the Unicode layer name ('luni') that Photoshop reads instead.
    layer = psd.create_pixel_layer(image, name="layer", top=top, left=left)
    layer.name = name
    layer.visible = visible


def _opaque_box(alpha: np.ndarray) -> tuple[int, int, int, int] | None:
    rows = np.flatnonzero(alpha.any(axis=1))
    cols = np.flatnonzero(alpha.any(axis=0))
    if rows.size == 0 or cols.size == 0:
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1
