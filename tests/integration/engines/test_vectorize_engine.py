"""Vectorizing generated logos and posters into clean SVGs."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from engine_pictures import encode, flat_logo, gradient_poster
from PIL import Image

from ai_cs.engines import EngineOptions, EngineTimeout, UnknownPreset, run_engine
from ai_cs.engines.quality import MAX_RENDER_DIFFERENCE, render_difference
from ai_cs.engines.svg_safety import sanitize_svg
from ai_cs.engines.vector_output import render_svg
from ai_cs.engines.vectorize import VectorizeEngine, choose_preset
from ai_cs.errors import QualityCheckFailed


def _rendered_rgb(svg: bytes, width: int, height: int) -> np.ndarray:
    rgba = render_svg(svg, width, height).astype(np.float32)
    alpha = rgba[:, :, 3:4] / 255.0
    return np.round(rgba[:, :, :3] * alpha + 255.0 * (1 - alpha)).astype(np.uint8)


def test_flat_logo_becomes_a_clean_svg_close_to_the_original() -> None:
    logo = flat_logo()

    result = run_engine("vectorize", encode(logo), EngineOptions(preset="logo"))

    assert result.extension == ".svg"
    assert result.mime == "image/svg+xml"
    assert result.quality.passed, result.quality.reason
    text = result.data.decode("utf-8")
    assert text.startswith("<?xml")
    assert "<script" not in text.lower()
    assert not re.search(r"\son\w+\s*=", text)
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    # Already clean: sanitizing again changes nothing.
    assert sanitize_svg(result.data) == result.data
    # Scalable: a viewBox, and it opens at the original picture's size.
    assert 'viewBox="0 0 800 600"' in text
    assert 'width="800"' in text and 'height="600"' in text
    # Rendered back independently, it looks like the logo.
    assert render_difference(logo, _rendered_rgb(result.data, 800, 600)) <= 6.0
    assert result.metadata["preset"] == "logo"


def test_auto_preset_recognises_a_logo_and_a_poster() -> None:
    logo = flat_logo()
    poster = gradient_poster()

    assert choose_preset(np.dstack([logo, np.full(logo.shape[:2], 255, np.uint8)])) == "logo"
    assert choose_preset(np.dstack([poster, np.full(poster.shape[:2], 255, np.uint8)])) != "logo"

    result = run_engine("vectorize", logo)
    assert result.metadata["preset"] == "logo"


def test_poster_preset_keeps_a_gradient() -> None:
    result = run_engine("vectorize", gradient_poster(), EngineOptions(preset="poster"))

    assert result.quality.passed, result.quality.reason
    assert result.quality.checks[0].value <= MAX_RENDER_DIFFERENCE["poster"]


def test_wrong_preset_for_the_picture_fails_the_render_check() -> None:
    # vtracer's logo settings merge a smooth gradient into one flat colour: the rendering no
    # longer looks like the poster, and the check must say so.
    with pytest.raises(QualityCheckFailed) as caught:
        run_engine("vectorize", gradient_poster(), EngineOptions(preset="logo"))

    failed = [c for c in caught.value.details["report"]["checks"] if not c["passed"]]
    assert [c["name"] for c in failed] == ["render_difference"]


def test_transparent_logo_is_compared_on_white() -> None:
    logo = flat_logo(400, 300)
    rgba = np.dstack([logo, np.where(logo.min(axis=2) == 255, 0, 255).astype(np.uint8)])

    result = VectorizeEngine().process(
        Image.open(io.BytesIO(encode(rgba))), EngineOptions(preset="logo")
    )

    assert result.quality.passed, result.quality.reason


def test_stuck_trace_is_stopped_by_the_time_limit() -> None:
    with pytest.raises(EngineTimeout):
        run_engine("vectorize", flat_logo(), EngineOptions(preset="logo", timeout_s=0.001))


def test_unknown_preset_is_refused() -> None:
    with pytest.raises(UnknownPreset):
        run_engine("vectorize", flat_logo(200, 150), EngineOptions(preset="sketch"))
