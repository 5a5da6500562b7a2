"""Background removal on generated product photos with a known mask."""

from __future__ import annotations

import io

import numpy as np
import pytest
from engine_pictures import encode, iou, product_photo
from PIL import Image

from ai_cs.core.tasks import Operation
from ai_cs.engines import EngineOptions, get_engine, run_engine
from ai_cs.engines.remove_bg import GrabCutEngine, alpha_of_png
from ai_cs.errors import QualityCheckFailed


@pytest.mark.parametrize("background", ["plain", "gradient"])
def test_product_cut_out_matches_the_true_shape(background: str) -> None:
    image, truth = product_photo(background)

    result = run_engine(Operation.REMOVE_BG, encode(image))

    assert result.extension == ".png"
    assert result.mime == "image/png"
    assert (result.width, result.height) == (1200, 900)
    assert result.quality.passed, result.quality.reason
    alpha = alpha_of_png(result.data)
    assert alpha.shape == truth.shape
    assert iou(alpha >= 128, truth) >= 0.95
    # The edge is anti-aliased (soft values along the outline), not a hard staircase.
    assert np.count_nonzero((alpha > 0) & (alpha < 255)) > 500
    # Fully transparent pixels carry no colour (nothing of the background leaks out).
    with Image.open(io.BytesIO(result.data)) as png:
        rgba = np.asarray(png)
    assert png.mode == "RGBA"
    assert int(rgba[alpha == 0, :3].max()) == 0


def test_busy_background_fails_the_check_instead_of_shipping() -> None:
    image, truth = product_photo("busy")

    with pytest.raises(QualityCheckFailed) as caught:
        run_engine("remove_bg", image)

    report = caught.value.details["report"]
    assert report["passed"] is False
    failed = {check["name"] for check in report["checks"] if not check["passed"]}
    assert failed & {"edge_complexity", "fragments", "border_touch", "foreground_share"}
    assert "background" in caught.value.message


@pytest.mark.parametrize("seed", [0, 1])
def test_a_result_that_passes_is_a_good_cut_out(seed: int) -> None:
    # Random-noise backgrounds are busy but colour-separable: GrabCut may succeed. Whatever it
    # does, a result that passes its check must be a good cut-out.
    image, truth = product_photo("noise", width=800, height=600, seed=seed)

    result = GrabCutEngine().process(image, EngineOptions())

    if result.quality.passed:
        assert iou(alpha_of_png(result.data) >= 128, truth) >= 0.95


def test_same_picture_same_cut_out() -> None:
    image, _ = product_photo("gradient", width=640, height=480)
    engine = get_engine(Operation.REMOVE_BG)

    first = engine.process(image, EngineOptions())
    second = engine.process(image, EngineOptions())

    assert np.array_equal(alpha_of_png(first.data), alpha_of_png(second.data))


def test_transparent_input_stays_transparent() -> None:
    image, _ = product_photo("plain", width=640, height=480)
    rgba = np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
    rgba[:, :40, 3] = 0  # a transparent stripe the customer already cut away

    result = run_engine("remove_bg", encode(rgba))

    assert int(alpha_of_png(result.data)[:, :40].max()) == 0


def test_exif_rotated_photo_is_cut_upright(tmp_path) -> None:
    image, truth = product_photo("plain", width=800, height=600)
    # Stored sideways with orientation 6 ("rotate 90° clockwise to view"), as phones do.
    stored = Image.fromarray(image).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.jpg"
    stored.save(path, format="JPEG", quality=95, exif=exif.tobytes())

    result = run_engine("remove_bg", path)

    assert (result.width, result.height) == (800, 600)
    assert iou(alpha_of_png(result.data) >= 128, truth) >= 0.95


def test_subject_cropped_by_the_frame_reaches_the_edge() -> None:
    # The product runs off the bottom of the photo: the cut-out must reach the bottom edge
    # instead of stopping at GrabCut's background seeds.
    image, truth = product_photo("gradient", width=800, height=600)
    image, truth = np.ascontiguousarray(image[:430]), truth[:430]

    result = run_engine("remove_bg", image)

    alpha = alpha_of_png(result.data) >= 128
    assert iou(alpha, truth) >= 0.95
    assert alpha[-1].sum() >= 0.9 * truth[-1].sum()
