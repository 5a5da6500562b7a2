"""Photo enhancement (画质增强): denoise, local contrast, sharpen edges, upscale small pictures.

A classical OpenCV chain, offline and predictable, built so the customer sees a clearer picture,
not a grainier one:

1. denoise with non-local means, its strength set from the noise measured on the picture's flat
   parts (a clean picture is not smoothed; big pictures get a lighter, faster search window);
2. upscale 2× with Lanczos when the longest side is under :data:`UPSCALE_BELOW` px (after
   denoising, so the noise is not enlarged with the picture);
3. the lightness (L of Lab) is split into an edge-preserving base (guided filter) and the fine
   detail on top of it; CLAHE raises local contrast on the base only, so grain in the detail is
   not stretched with it;
4. unsharp masking weighted by edge strength: edges get crisper, flat areas (sky, skin, walls)
   keep their grain as it was instead of having it doubled.

The quality checks measure the written file against the input at the input's size: sharper,
not noisier (:func:`~ai_cs.engines.quality.check_noise`), not a different picture, large enough.
"""

from __future__ import annotations

import io
import time
from typing import Final

import cv2
import numpy as np
from PIL import Image

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
from ai_cs.engines.quality import (
    check_enhance_change,
    check_min_side,
    check_noise,
    check_sharpness_gain,
    noise_level,
)
from ai_cs.engines.remove_bg import guided_filter

UPSCALE_BELOW: Final = 1000
"""Pictures whose longest side is below this are upscaled 2× (marketplace listings want ≥ 1000)."""

UPSCALE_FACTOR: Final = 2

LIGHT_DENOISE_ABOVE: Final = 4_000_000
"""Above 4 MP non-local means uses a 3/7 window instead of 5/11: about 3× faster, and noise at
that resolution is finer so the smaller window loses little."""

MIN_NOISE_SIGMA: Final = 2.0
"""Noise (gray levels, on the flat parts) below which the picture is not denoised at all."""

DENOISE_PER_SIGMA: Final = 1.5
"""Filter strength per level of gray noise; colour noise adds to what the gray measure sees,
so the filter is set somewhat above it."""

MAX_DENOISE_H: Final = 10.0
"""Strongest non-local-means filter strength (OpenCV's ``h``); more smears real texture."""

BASE_RADIUS: Final = 4
"""Guided-filter radius (input pixels) of the base layer CLAHE works on."""

BASE_EPS: Final = 0.002
"""Guided-filter regularisation (on 0..1 lightness): edges stronger than about √0.002 ≈ 11 gray
levels stay in the base; weaker ripples (grain, fine texture) go to the detail layer."""

CLAHE_CLIP: Final = 2.0
CLAHE_TILES: Final = (8, 8)

UNSHARP_SIGMA: Final = 1.2
"""Gaussian radius of the unsharp mask, in input pixels (scaled with the upscale factor)."""

UNSHARP_AMOUNT: Final = 0.8

EDGE_LOW: Final = 2.0
EDGE_HIGH: Final = 8.0
"""Sobel gradient of the smoothed base (gray levels per input pixel) below which nothing is
sharpened and above which the full amount is applied; in between it ramps up."""


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
        output_format = options.output_format or ("png" if alpha is not None else "jpg")
        if alpha is not None and (height, width) != alpha.shape:
            alpha = cv2.resize(alpha, (width, height), interpolation=cv2.INTER_LANCZOS4)
        if output_format == "png":
            pixels = enhanced if alpha is None else np.dstack([enhanced, alpha])
            data, extension, mime = encode_png(pixels), ".png", "image/png"
        else:
            data, extension, mime = encode_jpeg(enhanced), ".jpg", "image/jpeg"
        # Checked on the file as written (JPEG's own artefacts count), at the input's size.
        with Image.open(io.BytesIO(data)) as written:
            after_gray = np.asarray(written.convert("L"))
        before_gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        checks = (
            check_sharpness_gain(before_gray, after_gray),
            check_noise(before_gray, after_gray),
            check_min_side(width, height),
            check_enhance_change(before_gray, after_gray),
        )
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

    lightness, a_channel, b_channel = cv2.split(cv2.cvtColor(bgr, cv2.COLOR_BGR2LAB))
    light = lightness.astype(np.float32)
    base = guided_filter(light / 255.0, light / 255.0, BASE_RADIUS * scale, BASE_EPS) * 255.0
    clahe = cv2.createCLAHE(clipLimit=CLAHE_CLIP, tileGridSize=CLAHE_TILES)
    contrasted = clahe.apply(np.clip(np.round(base), 0, 255).astype(np.uint8)).astype(np.float32)
    out = contrasted + (light - base)
    steps.append("clahe")

    smooth_base = cv2.GaussianBlur(base, (0, 0), float(scale))
    gx = cv2.Sobel(smooth_base, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(smooth_base, cv2.CV_32F, 0, 1, ksize=3)
    # Sobel's 3×3 kernel weighs a one-level step 4×; per input pixel, hence × scale.
    edge = np.sqrt(gx * gx + gy * gy) * (scale / 4.0)
    weight = np.clip((edge - EDGE_LOW) / (EDGE_HIGH - EDGE_LOW), 0.0, 1.0)
    blurred = cv2.GaussianBlur(light, (0, 0), UNSHARP_SIGMA * scale)
    out += UNSHARP_AMOUNT * weight * (light - blurred)
    steps.append("unsharp")

    lab = cv2.merge([np.clip(np.round(out), 0, 255).astype(np.uint8), a_channel, b_channel])
    return cv2.cvtColor(cv2.cvtColor(lab, cv2.COLOR_LAB2BGR), cv2.COLOR_BGR2RGB), steps


def estimate_noise(gray: np.ndarray) -> float:
    """Standard deviation of the picture's pixel noise, in gray levels, on its flat parts."""
    return noise_level(gray)
