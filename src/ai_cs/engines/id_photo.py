"""证件照: the person cut out, put on the asked background colour, framed and sized to a standard.

1. The subject is separated from its background by the shop's segmenter (GrabCut, or the ONNX
   model when one is configured), exactly as for a cut-out.
2. The matte is composited onto the colour asked for (``background``: white by default, blue,
   red or any ``#rrggbb``; "transparent" makes no sense on an ID photo and means white).
3. The frame is chosen around the subject with the target's proportions: the head near the top
   with a little headroom, the subject centred, the shoulders running out at the bottom as on
   every ID photo; where the frame leaves the picture it is filled with the background colour.
4. The frame is scaled to the exact size (``size``: 1寸 295×413 by default, 2寸 413×579, or
   any ``WxH``; or ``print`` at its DPI) and encoded within the asked file size (``min_kb`` /
   ``max_kb``) with the DPI in the file (300 unless asked otherwise).

Checks, on the encoded file: exact pixel size, the top corners in the asked colour (the bottom
corners may be shoulders), the file-size range, the format, the DPI, and the segmenter's own
checks of the matte apart from ``border_touch`` (a bust always touches the bottom edge).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Final

import cv2
import numpy as np
from PIL import Image

from ai_cs.core.requirements import DEFAULT_DPI, PHOTO_SIZES
from ai_cs.core.tasks import Operation
from ai_cs.engines.base import (
    EngineOptions,
    EngineResult,
    ImageInput,
    QualityReport,
    resize_to_side,
    to_pil,
)
from ai_cs.engines.output import deliver_raster
from ai_cs.engines.quality import mask_checks
from ai_cs.engines.remove_bg import (
    GRABCUT_ITERATIONS,
    PROBABLE_BACKGROUND_BAND,
    SURE_BACKGROUND_BAND,
    WORK_SIDE,
    Cutout,
    GrabCutEngine,
    Segmenter,
    clean_mask,
    compose_rgba,
    grabcut_foreground,
    grabcut_picture,
    refine_alpha,
    segment_picture,
)

DEFAULT_SIZE: Final = PHOTO_SIZES["1寸"]
HEADROOM: Final = 0.09
"""Share of the frame's height above the top of the head."""
HEAD_SHARE: Final = 0.58
"""Share of the frame's height from the top of the head to the neck."""


class PortraitGrabCut:
    """GrabCut seeded for a bust: background above and beside, the subject out at the bottom.

    The cut-out engine seeds the whole frame as background; a portrait's shoulders run out at
    the bottom edge and would be learned as background (the customer would get a floating head).
    """

    name = "grabcut-portrait"

    def segment(self, rgb: np.ndarray) -> Cutout:
        """The person's matte at full size, with the cut-out checks of the raw mask."""
        small, scale = resize_to_side(rgb, WORK_SIDE)
        height, width = small.shape[:2]
        band = max(2, round(SURE_BACKGROUND_BAND * max(height, width)))
        ring = max(band + 2, round(PROBABLE_BACKGROUND_BAND * max(height, width)))
        mask = np.full((height, width), cv2.GC_PR_FGD, np.uint8)
        mask[:ring, :] = cv2.GC_PR_BGD
        mask[:, :ring] = cv2.GC_PR_BGD
        mask[:, -ring:] = cv2.GC_PR_BGD
        mask[:band, :] = cv2.GC_BGD
        mask[: height * 2 // 3, :band] = cv2.GC_BGD
        mask[: height * 2 // 3, -band:] = cv2.GC_BGD
        # The same dither as the cut-out: flat colours otherwise give GrabCut a singular model.
        raw = grabcut_foreground(grabcut_picture(small), mask, GRABCUT_ITERATIONS)
        checks = mask_checks(raw)
        alpha = refine_alpha(clean_mask(raw).astype(np.float32), rgb)
        return Cutout(alpha=alpha, checks=checks, metadata={"scale": round(scale, 4)})


class IdPhotoEngine:
    """Background colour and standard size for an ID photo."""

    name = "id-photo"
    operation = Operation.ID_PHOTO

    def __init__(self, segmenter: Segmenter | None = None) -> None:
        # The cut-out GrabCut is replaced by its portrait seeding; a configured model is kept.
        if segmenter is None or isinstance(segmenter, GrabCutEngine):
            segmenter = PortraitGrabCut()
        self.segmenter = segmenter

    def process(self, image: ImageInput, options: EngineOptions) -> EngineResult:
        """The framed, recoloured and sized ID photo with its checks."""
        started = time.perf_counter()
        rgb, cutout = segment_picture(self.segmenter, to_pil(image))
        # An ID photo always has a solid background (transparent means white) and its standard
        # sizes are defined at 300 DPI, which the file then says.
        req = options.requirements
        req = req.model_copy(
            update={
                "background": req.background if req.rgb() is not None else "white",
                "dpi": req.effective_dpi or DEFAULT_DPI,
            }
        )
        size = req.pixels((rgb.shape[1], rgb.shape[0])) or DEFAULT_SIZE
        colour = req.rgb() or (255, 255, 255)
        framed = _frame(compose_rgba(rgb, cutout.alpha), cutout.alpha, size, colour)
        checks = [c for c in cutout.checks if c.name != "border_touch"]
        base = EngineResult(
            operation=self.operation,
            engine=f"{self.name}+{self.segmenter.name}",
            data=b"",
            extension=".jpg",
            mime="image/jpeg",
            width=size[0],
            height=size[1],
            quality=QualityReport(tuple(checks)),
            metadata={**cutout.metadata, "size": list(size), "background": list(colour)},
        )
        result = deliver_raster(
            base, framed, req, wanted_size=size, corners="top", default_format="jpg"
        )
        return replace(result, elapsed_ms=(time.perf_counter() - started) * 1000.0)


def _frame(
    rgba: np.ndarray, alpha: np.ndarray, size: tuple[int, int], colour: tuple[int, int, int]
) -> Image.Image:
    """The subject on ``colour``, framed by the head with the target's proportions, at ``size``.

    The head runs from the top of the subject down to the neck, the narrowest row between the
    head and the shoulders; it takes :data:`HEAD_SHARE` of the frame's height below
    :data:`HEADROOM`, as the standard ID photo layouts ask.
    """
    height, width = alpha.shape[:2]
    solid = alpha > 0.5
    rows = np.nonzero(solid.any(axis=1))[0]
    aspect = size[0] / size[1]
    if rows.size == 0:
        frame_h, frame_top, centre = float(height), 0.0, width / 2  # no subject: checks say so
    else:
        top, bottom = int(rows[0]), int(rows[-1]) + 1
        widths = solid.sum(axis=1)
        lo, hi = top + (bottom - top) // 4, top + (bottom - top) * 4 // 5
        neck = lo + int(np.argmin(widths[lo:hi])) if hi > lo else bottom
        head_rows = solid[top:neck]
        cols = np.nonzero(head_rows.any(axis=0))[0]
        centre = (cols[0] + cols[-1] + 1) / 2 if cols.size else width / 2
        frame_h = (neck - top) / HEAD_SHARE
        frame_top = top - HEADROOM * frame_h
    frame_w = frame_h * aspect
    frame_left = centre - frame_w / 2
    canvas = Image.new("RGBA", (max(1, round(frame_w)), max(1, round(frame_h))), (*colour, 255))
    canvas.alpha_composite(Image.fromarray(rgba, "RGBA"), (round(-frame_left), round(-frame_top)))
    return canvas.convert("RGB").resize(size, Image.Resampling.LANCZOS)
