"""Benchmark: full picture analysis against the bare OCR call it is built around.

Value: milliseconds for :func:`ai_cs.imaging.analysis.analyze_image` on a generated
1000×1000 picture with Chinese and English lines (complexity, perspective, sharpness, red seal,
OCR). Baseline: the bare RapidOCR call on the same picture. The ratio shows what the analysis
adds on top of OCR (ideally little above 1). Medians over a few repetitions after a warm-up.
"""

from __future__ import annotations

import numpy as np

from ai_cs.bench import BenchResult, interleaved_ms
from ai_cs.bench.labelled import make_picture


def _bare_text(result: object) -> str:
    return " ".join(str(t) for t in (getattr(result, "txts", None) or ()))


def run(quick: bool) -> list[BenchResult]:
    """Time our analysis against the bare default OCR call; score both on the labelled set."""
    from rapidocr import RapidOCR

    from ai_cs.bench.labelled import char_accuracy, normalise, picture_set
    from ai_cs.imaging.analysis import analyze_image, to_rgb_array
    from ai_cs.imaging.ocr import RapidOcrEngine

    img, note = make_picture()
    engine = RapidOcrEngine()
    bare = RapidOCR(params={"Global.log_level": "error"})  # RapidOCR as it comes
    bgr = np.ascontiguousarray(np.asarray(img)[:, :, ::-1])
    ours = analyze_image(img, ocr=engine)  # warm-up: loads the models of both
    bare_result = bare(bgr)
    same = normalise(ours.text.text) == normalise(_bare_text(bare_result))
    repeats = 3 if quick else 9
    value, baseline = interleaved_ms(
        lambda: analyze_image(img, ocr=engine), lambda: bare(bgr), repeats
    )

    pictures, set_note = picture_set()
    mine = char_accuracy(
        pictures, lambda p: " ".join(line.text for line in engine.read(to_rgb_array(p)))
    )
    theirs = char_accuracy(
        pictures,
        lambda p: _bare_text(bare(np.ascontiguousarray(to_rgb_array(p)[:, :, ::-1]))),
    )
    return [
        BenchResult.compare(
            "analysis_ms_per_picture",
            value,
            "ms",
            baseline,
            note=(
                f"1000x1000 {note}; baseline = bare default RapidOCR call; "
                f"same characters read: {'yes' if same else 'NO'}"
            ),
        ),
        BenchResult(
            bench="analysis_char_accuracy",
            value=mine.accuracy,
            unit="1 - CER",
            baseline=theirs.accuracy,
            ratio=round(mine.accuracy / theirs.accuracy, 3) if theirs.accuracy else 0.0,
            note=(
                f"{set_note}; {mine.labelled_chars} labelled characters; edits ours "
                f"{mine.edits} vs bare {theirs.edits}; characters read where there is no text: "
                f"ours {mine.false_chars} vs bare {theirs.false_chars}"
            ),
        ),
    ]
