"""Benchmark: full picture analysis against the bare OCR call it is built around.

Value: milliseconds for :func:`ai_cs.imaging.analysis.analyze_image` on a generated
1000×1000 picture with Chinese and English lines (complexity, perspective, sharpness, red seal,
OCR). Baseline: the bare RapidOCR call on the same picture. The ratio shows what the analysis
adds on top of OCR (ideally little above 1). Medians over a few repetitions after a warm-up.
"""

from __future__ import annotations

import importlib
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ai_cs.bench import BenchResult

LINES_ZH = ("新店开业 全场八折", "欢迎光临 美味小吃")
LINES_EN = ("Grand Opening Sale", "Open 9:00-21:00")


def _cjk_font(size: int) -> ImageFont.FreeTypeFont | None:
    """A Chinese-capable font if one is installed (pip font packages first, then fc-list)."""
    for module, attr, index in (
        ("noto_cjk_sans_otc", "FONT_PATH", 2),
        ("pylopdf_fonts_zh_cn", "sans_path", 0),
    ):
        try:
            found = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            continue
        path = found() if callable(found) else found
        return ImageFont.truetype(str(path), size, index=index)
    if shutil.which("fc-list"):
        out = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, check=False
        ).stdout
        for line in sorted(out.splitlines()):
            path = line.split(":", 1)[0].strip()
            if path and Path(path).exists():
                return ImageFont.truetype(path, size)
    return None


def make_picture() -> tuple[Image.Image, str]:
    """A 1000×1000 poster with text; Chinese lines only when a CJK font is available."""
    img = Image.new("RGB", (1000, 1000), (250, 240, 210))
    draw = ImageDraw.Draw(img)
    cjk = _cjk_font(56)
    font = cjk if cjk is not None else ImageFont.load_default(size=56)
    lines = (*LINES_ZH, *LINES_EN) if cjk is not None else LINES_EN * 2
    for i, line in enumerate(lines):
        draw.text((80, 150 + i * 180), line, font=font, fill=(30, 20, 90))
    note = "zh+en text" if cjk is not None else "en text only (no CJK font installed)"
    return img, note


def _interleaved_ms(
    first: Callable[[], object], second: Callable[[], object], repeats: int
) -> tuple[float, float]:
    """Median milliseconds of two functions run alternately, so load spikes hit both."""
    a_times: list[float] = []
    b_times: list[float] = []
    for _ in range(repeats):
        for fn, times in ((first, a_times), (second, b_times)):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(a_times), statistics.median(b_times)


def run(quick: bool) -> list[BenchResult]:
    """Time the full analysis and the bare OCR call on the same picture."""
    from ai_cs.imaging.analysis import analyze_image
    from ai_cs.imaging.ocr import RapidOcrEngine

    img, note = make_picture()
    engine = RapidOcrEngine()
    bgr = np.ascontiguousarray(np.asarray(img)[:, :, ::-1])
    engine.read_bgr(bgr)  # warm-up: loads the models
    repeats = 3 if quick else 9
    value, baseline = _interleaved_ms(
        lambda: analyze_image(img, ocr=engine), lambda: engine.read_bgr(bgr), repeats
    )
    return [
        BenchResult(
            bench="analysis_ms_per_picture",
            value=round(value, 1),
            unit="ms",
            baseline=round(baseline, 1),
            ratio=round(value / baseline, 3) if baseline else 0.0,
            note=f"1000x1000 {note}; baseline = bare RapidOCR call",
        )
    ]
