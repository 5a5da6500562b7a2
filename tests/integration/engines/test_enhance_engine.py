"""Enhancing generated pictures: sharper, cleaner, large enough."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from engine_pictures import blurred_noisy, detailed_scene, encode
from PIL import Image

from ai_cs.engines import EngineOptions, run_engine
from ai_cs.engines.enhance import EnhanceEngine, estimate_noise
from ai_cs.engines.quality import sharpness
from ai_cs.errors import QualityCheckFailed


def _gray(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("L"))


def test_blurred_noisy_picture_gets_sharper_and_upscaled() -> None:
    degraded = blurred_noisy(detailed_scene(800, 600), blur=2.0, noise=10.0)

    result = run_engine("enhance", encode(degraded, "JPEG", quality=95))

    assert result.quality.passed, result.quality.reason
    assert (result.width, result.height) == (1600, 1200)  # under 1000 px: Lanczos 2×
    assert result.extension == ".jpg" and result.mime == "image/jpeg"
    before = cv2.cvtColor(degraded, cv2.COLOR_RGB2GRAY)
    after = cv2.resize(_gray(result.data), (800, 600), interpolation=cv2.INTER_AREA)
    assert sharpness(after) > 1.2 * sharpness(before)
    assert estimate_noise(after) < estimate_noise(before)
    steps = result.metadata["steps"]
    assert steps[0].startswith("denoise") and "clahe" in steps and "unsharp" in steps


def test_large_clean_picture_is_not_denoised_or_upscaled() -> None:
    result = EnhanceEngine().process(detailed_scene(1200, 900), EngineOptions())

    assert (result.width, result.height) == (1200, 900)
    assert result.metadata["steps"] == ["clahe", "unsharp"]
    assert result.quality.passed, result.quality.reason


def test_transparent_picture_stays_png_with_alpha() -> None:
    rgba = np.dstack([detailed_scene(600, 400), np.full((400, 600), 255, np.uint8)])
    rgba[:50, :, 3] = 0

    result = run_engine("enhance", encode(rgba))

    assert result.extension == ".png"
    with Image.open(io.BytesIO(result.data)) as image:
        assert image.mode == "RGBA"
        assert image.size == (1200, 800)
        assert int(np.asarray(image)[:90, :, 3].max()) == 0


def test_flat_picture_cannot_be_made_sharper_and_fails() -> None:
    flat = np.full((600, 800, 3), 128, np.uint8)

    with pytest.raises(QualityCheckFailed) as caught:
        run_engine("enhance", flat)

    failed = {c["name"] for c in caught.value.details["report"]["checks"] if not c["passed"]}
    assert "sharpness_gain" in failed


def test_thumbnail_is_too_small_to_deliver() -> None:
    tiny = blurred_noisy(detailed_scene(150, 110), blur=1.0, noise=4.0)

    with pytest.raises(QualityCheckFailed) as caught:
        run_engine("enhance", tiny)

    failed = {c["name"] for c in caught.value.details["report"]["checks"] if not c["passed"]}
    assert "min_side" in failed
