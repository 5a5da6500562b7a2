"""Benchmark: each processing engine against the bare library call it is built around.

Value: milliseconds per generated 1 MP picture for the engine's ``process`` (decode-free: the
picture is passed as an array). Baselines, timed in the same run and interleaved so load spikes
hit both:

* ``enhance`` — the bare OpenCV filter calls (non-local means, CLAHE on L, unsharp mask);
* ``remove_bg`` and ``remove_bg_and_layer`` — ``cv2.grabCut`` alone at the same working size;
* ``vectorize`` — ``vtracer.convert_raw_image_to_svg`` alone, in-process, on the same PNG.

The ratio is what the engine adds: refinement at full size, quality checks, PNG/PSD encoding,
the vectorizer's child process, sanitizing and the render-back check.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from ai_cs.bench import BenchResult, interleaved_ms

SIDE = 1000
"""Pictures are 1000×1000 (1 MP)."""


def product_picture(seed: int = 0) -> np.ndarray:
    """A shaded red product (ellipse) with light texture on a soft gradient, 1 MP."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0.0, 1.0, SIDE, dtype=np.float32)[:, None, None]
    background = (
        np.array([235, 238, 242], np.float32) * (1 - y) + np.array([170, 180, 200], np.float32) * y
    )
    image = np.broadcast_to(background, (SIDE, SIDE, 3)).copy()
    mask = np.zeros((SIDE, SIDE), np.uint8)
    cv2.ellipse(mask, (SIDE // 2, SIDE // 2), (260, 330), 15, 0, 360, 255, -1, cv2.LINE_AA)
    weight = (mask.astype(np.float32) / 255.0)[:, :, None]
    subject = np.array([200, 60, 40], np.float32) * (1.1 - 0.3 * y) + rng.normal(
        0, 6, (SIDE, SIDE, 1)
    ).astype(np.float32)
    picture: np.ndarray = np.clip(image * (1 - weight) + subject * weight, 0, 255).astype(np.uint8)
    return picture


def logo_picture() -> np.ndarray:
    """A flat three-colour logo on white, 1 MP."""
    image = np.full((SIDE, SIDE, 3), 255, np.uint8)
    cv2.circle(image, (330, 500), 260, (220, 40, 40), -1, cv2.LINE_AA)
    cv2.rectangle(image, (520, 250), (880, 750), (30, 60, 200), -1)
    triangle = np.array([[520, 930], [700, 780], [880, 930]], np.int32)
    cv2.fillPoly(image, [triangle], (250, 200, 30), cv2.LINE_AA)
    return image


def noisy_photo(seed: int = 1) -> np.ndarray:
    """A blurred, noisy picture of shapes and text lines, 1 MP."""
    rng = np.random.default_rng(seed)
    image = np.full((SIDE, SIDE, 3), 215, np.uint8)
    for i in range(80):
        colour = tuple(int(v) for v in rng.integers(0, 200, 3))
        centre = (int(rng.integers(0, SIDE)), int(rng.integers(0, SIDE)))
        cv2.circle(image, centre, int(rng.integers(6, 70)), colour, -1 if i % 2 else 2)
    for top in range(60, SIDE, 70):
        cv2.putText(
            image, "enhance me 2026", (30, top), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (20, 20, 20), 2
        )
    blurred = cv2.GaussianBlur(image, (0, 0), 1.8).astype(np.float32)
    noisy: np.ndarray = np.clip(blurred + rng.normal(0, 9, blurred.shape), 0, 255).astype(np.uint8)
    return noisy


def _bare_filters(rgb: np.ndarray) -> np.ndarray:
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    bgr = cv2.fastNlMeansDenoisingColored(bgr, None, 10, 10, 5, 11)
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2LAB)
    lightness, a_channel, b_channel = cv2.split(lab)
    lightness = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(lightness)
    bgr = cv2.cvtColor(cv2.merge([lightness, a_channel, b_channel]), cv2.COLOR_LAB2BGR)
    blurred = cv2.GaussianBlur(bgr, (0, 0), 1.2)
    return cv2.addWeighted(bgr, 1.8, blurred, -0.8, 0)


def _bare_grabcut(rgb: np.ndarray, work_side: int, iterations: int) -> np.ndarray:
    height, width = rgb.shape[:2]
    scale = work_side / max(height, width)
    small = cv2.resize(
        rgb, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
    )
    mask = np.zeros(small.shape[:2], np.uint8)
    band = round(0.06 * work_side)
    rect = (band, band, small.shape[1] - 2 * band, small.shape[0] - 2 * band)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(small, mask, rect, bgd, fgd, iterations, cv2.GC_INIT_WITH_RECT)
    return mask


def run(quick: bool) -> list[BenchResult]:
    """Time every engine and its bare-library baseline on generated 1 MP pictures."""
    import vtracer

    from ai_cs.engines import EngineOptions
    from ai_cs.engines.base import encode_png, resize_to_side
    from ai_cs.engines.enhance import EnhanceEngine
    from ai_cs.engines.layered import LayeredEngine
    from ai_cs.engines.remove_bg import GRABCUT_ITERATIONS, WORK_SIDE, GrabCutEngine
    from ai_cs.engines.vectorize import PRESETS, VectorizeEngine

    repeats = 1 if quick else 3
    options = EngineOptions()
    product, logo, photo = product_picture(), logo_picture(), noisy_photo()
    logo_preset = PRESETS["logo"]
    logo_rgba = np.dstack([logo, np.full(logo.shape[:2], 255, np.uint8)])
    logo_png = encode_png(resize_to_side(logo_rgba, logo_preset.max_side)[0], 1)
    enhance, grabcut, vectorize, layered = (
        EnhanceEngine(),
        GrabCutEngine(),
        VectorizeEngine(),
        LayeredEngine(),
    )
    # Warm-up: first calls pay for lazy imports, OpenCV's thread pool and the child's page cache.
    vectorize.process(logo, EngineOptions(preset="logo"))
    _bare_grabcut(product, WORK_SIDE, 1)

    grabcut_alone = f"cv2.grabCut alone at {WORK_SIDE} px"
    cases: list[tuple[str, Callable[[], object], Callable[[], object], str]] = [
        (
            "engine_enhance_ms_per_mp",
            lambda: enhance.process(photo, options),
            lambda: _bare_filters(photo),
            "1000x1000 noisy blurred picture; baseline = NLM denoise + CLAHE + unsharp alone",
        ),
        (
            "engine_remove_bg_ms_per_mp",
            lambda: grabcut.process(product, options),
            lambda: _bare_grabcut(product, WORK_SIDE, GRABCUT_ITERATIONS),
            f"1000x1000 product; baseline = {grabcut_alone}",
        ),
        (
            "engine_vectorize_ms_per_mp",
            lambda: vectorize.process(logo, EngineOptions(preset="logo")),
            lambda: vtracer.convert_raw_image_to_svg(
                logo_png, img_format="png", **logo_preset.vtracer
            ),
            "1000x1000 flat logo, preset logo; baseline = vtracer in-process on the same PNG",
        ),
        (
            "engine_remove_bg_and_layer_ms_per_mp",
            lambda: layered.process(product, options),
            lambda: _bare_grabcut(product, WORK_SIDE, GRABCUT_ITERATIONS),
            f"1000x1000 product to a 3-layer PSD; baseline = {grabcut_alone}",
        ),
    ]
    results = []
    for name, ours, bare, note in cases:
        value, baseline = interleaved_ms(ours, bare, repeats)
        results.append(BenchResult.compare(name, value, "ms", baseline, note=note))
    return results
