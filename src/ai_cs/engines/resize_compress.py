"""改尺寸/压缩: exact pixel size and a file-size range, as exam and registration sites demand.

The picture is brought to the asked size (``fit``: cropped to the proportions by default, padded
with the background colour, or stretched) and encoded within ``min_kb``..``max_kb``; the checks
measure the encoded file: its pixels, its bytes, its format.
"""

from __future__ import annotations

import time

from ai_cs.core.requirements import COLOURS
from ai_cs.core.tasks import Operation
from ai_cs.engines.base import EngineOptions, EngineResult, ImageInput, QualityReport, to_pil
from ai_cs.engines.output import (
    check_exact_size,
    check_file_size,
    check_format,
    decoded,
    encode,
    fit_to_size,
    on_background,
)
from ai_cs.errors import InvalidArgument

DELIVERED_FORMATS = ("jpg", "png")


class ResizeCompressEngine:
    """Resize to exact pixels and compress into a file-size range."""

    name = "resize-compress"
    operation = Operation.RESIZE_COMPRESS

    def process(self, image: ImageInput, options: EngineOptions) -> EngineResult:
        """The picture at the asked size, encoded within the asked file size."""
        started = time.perf_counter()
        req = options.requirements
        if req.format is not None and req.format not in DELIVERED_FORMATS:
            raise InvalidArgument(f"改尺寸/压缩 delivers jpg or png, not {req.format}")
        picture = to_pil(image)
        fmt = req.format or ("png" if picture.mode == "RGBA" else "jpg")
        background = req.rgb() or COLOURS["white"]
        if fmt == "jpg" and picture.mode == "RGBA":
            picture = on_background(picture, background)
        if req.size is not None:
            fill: tuple[int, ...] = (
                (*background, 0 if req.background in (None, "transparent") else 255)
                if picture.mode == "RGBA"
                else background
            )
            picture = fit_to_size(picture, req.size, req.fit, fill)
        data, extension = encode(picture, req.model_copy(update={"format": fmt}))
        result = decoded(data)
        checks = [check_format(data, fmt)]
        if req.size is not None:
            checks.append(check_exact_size(result.size, req.size))
        if req.min_kb is not None or req.max_kb is not None:
            checks.append(check_file_size(len(data), req))
        return EngineResult(
            operation=self.operation,
            engine=self.name,
            data=data,
            extension=extension,
            mime="image/png" if extension == ".png" else "image/jpeg",
            width=result.width,
            height=result.height,
            quality=QualityReport(tuple(checks)),
            elapsed_ms=(time.perf_counter() - started) * 1000.0,
            metadata={"fit": req.fit, "requirements": req.to_json()},
        )
