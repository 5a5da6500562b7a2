"""Cut-out with layers: a PSD that psd-tools reads back with its named layers."""

from __future__ import annotations

import io

import numpy as np
import pytest
from engine_pictures import encode, iou, product_photo
from psd_tools import PSDImage

from ai_cs.engines import run_engine
from ai_cs.engines.layered import BACKGROUND_LAYER, ORIGINAL_LAYER, SUBJECT_LAYER
from ai_cs.errors import QualityCheckFailed


def test_layered_psd_has_subject_background_and_hidden_original() -> None:
    image, truth = product_photo("gradient", width=800, height=600)

    result = run_engine("remove_bg_and_layer", encode(image))

    assert result.extension == ".psd"
    assert result.mime == "image/vnd.adobe.photoshop"
    assert result.quality.passed, result.quality.reason
    psd = PSDImage.open(io.BytesIO(result.data))
    assert psd.size == (800, 600)
    layers = {layer.name: layer for layer in psd}
    assert len([name for name in layers if name]) >= 2
    assert set(layers) == {SUBJECT_LAYER, BACKGROUND_LAYER, ORIGINAL_LAYER}
    assert layers[ORIGINAL_LAYER].visible is False
    assert layers[SUBJECT_LAYER].visible and layers[BACKGROUND_LAYER].visible

    # The subject layer is the cut-out, placed where the product is.
    subject = layers[SUBJECT_LAYER]
    left, top, right, bottom = subject.bbox
    alpha = np.zeros((600, 800), np.uint8)
    alpha[top:bottom, left:right] = np.asarray(subject.topil().convert("RGBA"))[:, :, 3]
    assert iou(alpha >= 128, truth) >= 0.95

    # The background layer has the product painted out: no red left where it stood.
    background = np.asarray(layers[BACKGROUND_LAYER].topil().convert("RGB")).astype(int)
    inside = background[truth]
    assert float(np.mean(inside[:, 0] - inside[:, 2])) < 20  # gradient is bluish, product red

    # The hidden original is the untouched picture.
    original = np.asarray(layers[ORIGINAL_LAYER].topil().convert("RGB"))
    assert np.array_equal(original, image)


def test_busy_background_fails_instead_of_shipping_a_bad_psd() -> None:
    image, _ = product_photo("busy", width=800, height=600)

    with pytest.raises(QualityCheckFailed) as caught:
        run_engine("remove_bg_and_layer", image)

    assert caught.value.details["report"]["passed"] is False
