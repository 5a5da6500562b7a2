"""Photo enhancement (画质增强): denoise, local contrast, sharpen, and upscale small pictures.

A classical OpenCV chain, offline and predictable:

1. denoise with non-local means, its strength set from the measured noise level (a clean picture
   is not smoothed; big pictures get a lighter, faster search window);
2. upscale 2× with Lanczos when the longest side is under :data:`UPSCALE_BELOW` px (after
   denoising, so the noise is not enlarged with the picture);
3. CLAHE on the L channel of Lab (local contrast without shifting colours);
4. unsharp mask at the output scale.

The quality check measures sharpness on the same scale before and after.
"""

from __future__ import annotations

import time
from typing import Final

import cv2
import numpy as np

from ai_cs.core.tasks import Operation
from ai_cs.engines.base import (
    EngineOptions,
    EngineResult,
    ImageInput,
    QualityReport,
    encode_jpeg,
    encode_png,
    split_alpha,
    to_pil,
)
from ai_cs.engines.quality import check_enhance_change, check_min_side, check_sharpness_gain

UPSCALE_BELOW: Final = 1000
"""Pictures whose longest side is below this are upscaled 2× (marketplace listings want ≥ 1000)."""

UPSCALE_FACTOR: Final = 2

LIGHT_DENOISE_ABOVE: Final = 4_000_000
"""Above 4 MP non-local means uses a 3/7 window instead of 5/11: about 3× faster, and noise at
that resolution is finer so the smaller window loses little."""

MIN_NOISE_SIGMA: Final = 2.0
"""Estimated noise (gray levels) below which the picture is not denoised at all."""

DENOISE_PER_SIGMA: Final = 1.3
"""Filter strength per level of estimated gray noise; colour noise adds to what the gray estimate
sees, so the filter is set somewhat above it."""

MAX_DENOISE_H: Final = 10.0
"""Strongest non-local-means filter strength (OpenCV's ``h``); more smears real texture."""

CLAHE_CLIP: Final = 2.0
CLAHE_TILES: Final = (8, 8)

UNSHARP_SIGMA: Final = 1.2
"""Gaussian radius of the unsharp mask, in output pixels (scaled with the upscale factor)."""

UNSHARP_AMOUNT: Final = 0.8


class EnhanceEngine:
    """OpenCV enhancement chain for photos and product pictures."""

    name = "opencv-enhance"
    operation = Operation.ENHANCE

    def process(self, image: ImageInput, options: EngineOptions) -> EngineResult:
        """The enhanced picture as JPEG (or PNG when it has transparency) and its checks."""
        started = time.perf_counter()
        rgb, alpha = split_alpha(to_pil(image))
        enhanced, steps = enhance_rgb(rgb)
        height, width = enhanced.shape[:2]
        before_gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        after_gray = cv2.cvtColor(enhanced, cv2.COLOR_RGB2GRAY)
        checks = (
            check_sharpness_gain(before_gray, after_gray),
            check_min_side(width, height),
            check_enhance_change(before_gray, after_gray),
        )
        output_format = options.output_format or ("png" if alpha is not None else "jpg")
        if alpha is not None and (height, width) != alpha.shape:
            alpha = cv2.resize(alpha, (width, height), interpolation=cv2.INTER_LANCZOS4)
        if output_format == "png":
            pixels = enhanced if alpha is None else np.dstack([enhanced, alpha])
            data, extension, mime = encode_png(pixels), ".png", "image/png"
        else:
            data, extension, mime = encode_jpeg(enhanced), ".jpg", "image/jpeg"
        return EngineResult(
            operation=self.operation,
            engine=self.name,
            data=data,
            extension=extension,
            mime=mime,
            width=width,
            height=height,
            quality=QualityReport(checks),
            elapsed_ms=(time.perf_counter() - started) * 1000.0,
            metadata={"steps": steps},
        )


def enhance_rgb(rgb: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The enhanced RGB array and the names of the steps applied (for the job log)."""
    steps: list[str] = []
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    height, width = bgr.shape[:2]

    sigma = estimate_noise(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    if sigma >= MIN_NOISE_SIGMA:
        strength = float(min(MAX_DENOISE_H, max(3.0, DENOISE_PER_SIGMA * sigma)))
        template, search = (3, 7) if height * width > LIGHT_DENOISE_ABOVE else (5, 11)
        bgr = cv2.fastNlMeansDenoisingColored(bgr, None, strength, strength, template, search)
        steps.append(f"denoise(h={strength:.1f},noise={sigma:.1f})")

    scale = 1
    if max(height, width) < UPSCALE_BELOW:
        scale = UPSCALE_FACTOR
        bgr = cv2.resize(bgr, (width * scale, height * scale), interpolation=cv2.INTER_LANCZOS4)
        steps.append(f"upscale({scale}x,lanczos)")

    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2LAB)
    lightness, a_channel, b_channel = cv2.split(lab)
    clahe = cv2.createCLAHE(clipLimit=CLAHE_CLIP, tileGridSize=CLAHE_TILES)
    bgr = cv2.cvtColor(cv2.merge([clahe.apply(lightness), a_channel, b_channel]), cv2.COLOR_LAB2BGR)
    steps.append("clahe")

    blurred = cv2.GaussianBlur(bgr, (0, 0), UNSHARP_SIGMA * scale)
    bgr = cv2.addWeighted(bgr, 1.0 + UNSHARP_AMOUNT, blurred, -UNSHARP_AMOUNT, 0)
    steps.append("unsharp")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), steps


def estimate_noise(gray: np.ndarray) -> float:
    """Standard deviation of the picture's pixel noise, in gray levels.

    Immerkær's kernel (a difference of two Laplacians) cancels smooth image structure and leaves
    noise with a standard deviation of 6σ. The median absolute response (÷ 0.6745 for a normal
    distribution) is used instead of Immerkær's mean so edges and text, which give large
    responses on a minority of pixels, do not count as noise.
    """
    height, width = gray.shape[:2]
    if height < 3 or width < 3:
        return 0.0
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    response = cv2.filter2D(gray.astype(np.float32), cv2.CV_32F, kernel)[1:-1, 1:-1]
    return float(np.median(np.abs(response)) / (0.6745 * 6.0))
