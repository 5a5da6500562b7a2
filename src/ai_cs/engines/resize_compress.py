"""改尺寸/压缩: exact pixel size and a file-size range, as exam and registration sites demand.

The picture is brought to the asked size (``size``, or ``print`` at its DPI; ``fit``: cropped to
the proportions by default, padded with the background colour, or stretched) and encoded within
``min_kb``..``max_kb`` at the asked JPEG quality and DPI; the checks measure the encoded file:
its pixels, its bytes, its format, its DPI and quality.
"""

from __future__ import annotations

import time
from dataclasses import replace

from ai_cs.core.tasks import Operation
from ai_cs.engines.base import EngineOptions, EngineResult, ImageInput, QualityReport, to_pil
from ai_cs.engines.output import asked_shape, deliver_raster


class ResizeCompressEngine:
    """Resize to exact pixels and compress into a file-size range."""

    name = "resize-compress"
    operation = Operation.RESIZE_COMPRESS

    def process(self, image: ImageInput, options: EngineOptions) -> EngineResult:
        """The picture at the asked size, encoded within the asked file size."""
        started = time.perf_counter()
        req = options.requirements
        picture, wanted = asked_shape(to_pil(image), req)
        base = EngineResult(
            operation=self.operation,
            engine=self.name,
            data=b"",
            extension=".png",
            mime="image/png",
            width=picture.width,
            height=picture.height,
            quality=QualityReport(()),
            metadata={"fit": req.fit},
        )
        result = deliver_raster(base, picture, req, wanted_size=wanted)
        return replace(result, elapsed_ms=(time.perf_counter() - started) * 1000.0)
