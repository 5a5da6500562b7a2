"""Cut-out with layers (抠图分层): a layered PSD for the customer's own design tool.

Layers, top to bottom:

* ``主体 subject`` — the cut-out (transparent around the subject), cropped to its bounding box;
* ``底色 colour`` — only when a background colour was asked: that colour, under the subject;
* ``背景 background`` — the original with the subject removed and the hole filled by inpainting,
  so the subject can be moved or replaced without leaving a ghost;
* ``原图 original`` — the untouched picture, hidden, for reference.

The mask is made by the same segmenter as ``remove_bg`` and checked by the same checks; the
written PSD is read back with psd-tools to make sure it really has its named layers, and the
size, resolution (DPI) and colour layer the order asked for.
"""

from __future__ import annotations

import io
import struct
import time
from dataclasses import dataclass, replace
from typing import Final

import cv2
import numpy as np
from PIL import Image
from psd_tools import PSDImage
from psd_tools.constants import Resource
from psd_tools.psd.image_resources import ImageResource

from ai_cs.core.tasks import Operation
from ai_cs.engines.base import (
    EngineOptions,
    EngineResult,
    ImageInput,
    QualityCheck,
    QualityReport,
    resize_to_side,
    to_pil,
)
from ai_cs.engines.output import (
    RASTER_FORMATS,
    asked_shape,
    background_check,
    bundle,
    check_dpi,
    check_exact_size,
    check_format,
    format_mismatch,
    on_background,
    raster_part,
    with_checks,
)
from ai_cs.engines.quality import check_psd_layers
from ai_cs.engines.remove_bg import GrabCutEngine, Segmenter, compose_rgba, segment_picture

SUBJECT_LAYER: Final = "主体 subject"
BACKGROUND_LAYER: Final = "背景 background"
ORIGINAL_LAYER: Final = "原图 original"
COLOUR_LAYER: Final = "底色 colour"

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

    def process(self, image: ImageInput, options: EngineOptions) -> EngineResult:
        """The layered PSD as the order asks, with the cut-out's checks and the file read back.

        A pixel or print size is applied to the picture before the layers are made (layers are
        not resampled afterwards); a background colour becomes a colour layer under the subject;
        the DPI is written as the PSD's resolution; PNG/JPG deliver the cut-out subject.
        """
        started = time.perf_counter()
        req = options.requirements
        picture, wanted = asked_shape(to_pil(image), req, flatten=False)
        rgb, cutout = segment_picture(self.segmenter, picture)
        alpha = cutout.alpha
        subject = compose_rgba(rgb, alpha)
        colour, dpi = req.rgb(), req.effective_dpi
        data = build_psd(
            np.asarray(picture), fill_subject_hole(rgb, alpha), subject, colour=colour, dpi=dpi
        )
        facts = read_psd(data)
        required = (SUBJECT_LAYER, BACKGROUND_LAYER, *((COLOUR_LAYER,) if colour else ()))
        checks = [check_format(data, "psd"), check_psd_layers(facts.names, required)]
        if wanted is not None:
            checks.append(check_exact_size(facts.size, wanted))
        if dpi is not None:
            checks.append(check_dpi(facts.dpi, dpi))
        if colour is not None:
            checks.append(check_colour_layer(facts.colour, colour))
        cut = EngineResult(
            operation=self.operation,
            engine=f"{self.name}+{self.segmenter.name}",
            data=data,
            extension=".psd",
            mime=PSD_MIME,
            width=facts.size[0],
            height=facts.size[1],
            quality=QualityReport(tuple(cutout.checks)),
            metadata={**cutout.metadata, "layers": facts.names},
        )
        psd = with_checks(cut, *checks)
        flat = Image.fromarray(subject, "RGBA")
        if colour is not None:
            flat = on_background(flat, colour)
        parts = [
            psd
            if fmt == "psd"
            else raster_part(cut, flat, req, fmt, wanted)
            if fmt in RASTER_FORMATS
            else with_checks(psd, format_mismatch(".psd", fmt))
            for fmt in req.formats or ("psd",)
        ]
        result = bundle(parts, cutout.checks) if len(parts) > 1 else parts[0]
        return replace(result, elapsed_ms=(time.perf_counter() - started) * 1000.0)


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


def build_psd(
    original: np.ndarray,
    background: np.ndarray,
    subject_rgba: np.ndarray,
    *,
    colour: tuple[int, int, int] | None = None,
    dpi: int | None = None,
) -> bytes:
    """PSD bytes with the named layers (original hidden, subject cropped to its box).

    ``colour`` adds a solid colour layer under the subject; ``dpi`` is written as the file's
    resolution (what Photoshop shows under Image Size and prints at).
    """
    height, width = background.shape[:2]
    psd = PSDImage.new("RGBA", (width, height))
    _add_layer(psd, Image.fromarray(original).convert("RGBA"), ORIGINAL_LAYER, visible=False)
    _add_layer(psd, Image.fromarray(background).convert("RGBA"), BACKGROUND_LAYER)
    if colour is not None:
        _add_layer(psd, Image.new("RGBA", (width, height), (*colour, 255)), COLOUR_LAYER)
    box = _opaque_box(subject_rgba[:, :, 3])
    top, left, bottom, right = box if box is not None else (0, 0, height, width)
    subject = Image.fromarray(np.ascontiguousarray(subject_rgba[top:bottom, left:right]))
    _add_layer(psd, subject, SUBJECT_LAYER, top=top, left=left)
    if dpi is not None:
        # ResolutionInfo: 16.16 fixed-point DPI, unit 1 (pixels per inch), shown in inches.
        fixed = round(dpi * 65536)
        data = struct.pack(">IHHIHH", fixed, 1, 1, fixed, 1, 1)
        psd.image_resources[Resource.RESOLUTION_INFO] = ImageResource(
            key=Resource.RESOLUTION_INFO.value, data=data
        )
    buffer = io.BytesIO()
    psd.save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class PsdFacts:
    """A written PSD read back with psd-tools."""

    names: list[str]
    """Top-level layer names, bottom first."""
    size: tuple[int, int]
    dpi: float | None
    colour: tuple[int, int, int] | None
    """Mean colour of the visible colour layer, ``None`` when there is none."""


def read_psd(data: bytes) -> PsdFacts:
    """Layer names, canvas size, resolution and colour layer of a PSD."""
    psd = PSDImage.open(io.BytesIO(data))
    resolution = psd.image_resources.get_data(Resource.RESOLUTION_INFO)
    colour = None
    for layer in psd:
        pixels = layer.topil() if layer.name == COLOUR_LAYER and layer.visible else None
        if pixels is not None:
            mean = np.asarray(pixels.convert("RGB"), dtype=np.float64).reshape(-1, 3).mean(0)
            colour = (round(mean[0]), round(mean[1]), round(mean[2]))
    return PsdFacts(
        names=[layer.name for layer in psd],
        size=(int(psd.width), int(psd.height)),
        dpi=None if resolution is None else resolution.horizontal / 65536,
        colour=colour,
    )


def layer_names(data: bytes) -> list[str]:
    """Names of the top-level layers of a PSD (bottom first), read back with psd-tools."""
    return read_psd(data).names


def check_colour_layer(
    actual: tuple[int, int, int] | None, wanted: tuple[int, int, int]
) -> QualityCheck:
    """The PSD has a visible colour layer of the asked background colour."""
    distance = 441.7 if actual is None else float(np.linalg.norm(np.subtract(actual, wanted)))
    return background_check(distance, "PSD 没有要求颜色的底色图层")


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
