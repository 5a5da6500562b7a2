"""Enhancing real photographs, judged as a customer would: sharper, and not noisier.

The photographs are the ones bundled in scikit-image's wheel (a dev dependency; read as files,
nothing is downloaded): people, an animal, food, a street scene, the moon, coins.
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from ai_cs.engines import EngineOptions, run_engine
from ai_cs.engines.enhance import EnhanceEngine
from ai_cs.engines.quality import check_noise, flat_mask, noise_level
from ai_cs.errors import QualityCheckFailed

PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "camera.png", "coins.png")


def photo_path(name: str) -> Path:
    spec = importlib.util.find_spec("skimage")
    assert spec is not None and spec.submodule_search_locations, "scikit-image is a dev dependency"
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / name
    assert path.is_file(), f"{name} is not bundled in this scikit-image wheel"
    return path


def photo(name: str) -> np.ndarray:
    with Image.open(photo_path(name)) as image:
        return np.asarray(image.convert("RGB"))


def gray_of(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("L"))


@pytest.mark.parametrize("name", PHOTOS)
def test_a_real_photo_comes_out_sharper_and_no_noisier(name: str) -> None:
    rgb = photo(name)
    result = run_engine("enhance", photo_path(name))  # passes every check or raises
    checks = {check.name: check for check in result.quality.checks}
    assert checks["noise"].passed and checks["sharpness_gain"].value >= 1.2
    # Measured independently of the engine's report: the written file at the input's size.
    before = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    after = cv2.resize(gray_of(result.data), before.shape[::-1], interpolation=cv2.INTER_AREA)
    mask = flat_mask(before)
    assert noise_level(after, mask) <= noise_level(before, mask) + 0.2


@pytest.mark.parametrize("name", ["astronaut.png", "coffee.png"])
def test_a_deliberately_noised_result_fails_the_noise_check(name: str) -> None:
    rgb = photo(name)
    good = EnhanceEngine().process(rgb, EngineOptions())
    with Image.open(io.BytesIO(good.data)) as image:
        enhanced = np.asarray(image.convert("RGB")).astype(np.float32)
    noisy = enhanced + np.random.default_rng(7).normal(0.0, 6.0, enhanced.shape)
    encoded = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(encoded, "JPEG", quality=92)

    before = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    check = check_noise(before, gray_of(encoded.getvalue()))
    assert not check.passed and "noisier" in check.message
    # The same result without the added noise passes, so the check is what tells them apart.
    assert check_noise(before, gray_of(good.data)).passed


def test_a_noisy_photo_is_cleaned_not_passed_on() -> None:
    rgb = photo("chelsea.png")
    grainy = np.clip(rgb + np.random.default_rng(3).normal(0, 8, rgb.shape), 0, 255)
    grainy = grainy.astype(np.uint8)
    result = EnhanceEngine().process(grainy, EngineOptions())
    assert result.quality.passed, result.quality.reason
    assert result.metadata["steps"][0].startswith("denoise")
    before = cv2.cvtColor(grainy, cv2.COLOR_RGB2GRAY)
    after = cv2.resize(gray_of(result.data), before.shape[::-1], interpolation=cv2.INTER_AREA)
    mask = flat_mask(before)
    assert noise_level(after, mask) < 0.5 * noise_level(before, mask)


def test_the_previous_chain_would_fail_the_noise_check() -> None:
    """CLAHE and unsharp over the whole picture (the chain before this check) add visible grain."""
    rgb = photo("astronaut.png")
    bgr = cv2.resize(
        cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), (1024, 1024), interpolation=cv2.INTER_LANCZOS4
    )
    lightness, a_channel, b_channel = cv2.split(cv2.cvtColor(bgr, cv2.COLOR_BGR2LAB))
    lightness = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(lightness)
    bgr = cv2.cvtColor(cv2.merge([lightness, a_channel, b_channel]), cv2.COLOR_LAB2BGR)
    bgr = cv2.addWeighted(bgr, 1.8, cv2.GaussianBlur(bgr, (0, 0), 2.4), -0.8, 0)
    encoded = io.BytesIO()
    Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).save(encoded, "JPEG", quality=92)
    check = check_noise(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), gray_of(encoded.getvalue()))
    assert not check.passed


def test_a_noised_result_is_refused_by_run_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the engine's own report: an enhance step that adds grain sends the job to a human."""
    import ai_cs.engines.enhance as enhance

    real = enhance.enhance_rgb

    def grainy(rgb: np.ndarray) -> tuple[np.ndarray, list[str]]:
        out, steps = real(rgb)
        noise = np.random.default_rng(5).normal(0.0, 6.0, out.shape)
        return np.clip(out + noise, 0, 255).astype(np.uint8), steps

    monkeypatch.setattr(enhance, "enhance_rgb", grainy)
    with pytest.raises(QualityCheckFailed) as caught:
        run_engine("enhance", photo_path("coffee.png"))
    failed = {c["name"] for c in caught.value.details["report"]["checks"] if not c["passed"]}
    assert failed == {"noise"}
