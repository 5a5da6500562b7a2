"""Pre/post-processing of segmentation models and mask refinement (no model needed)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ai_cs.engines.remove_bg import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    clean_mask,
    compose_rgba,
    guided_filter,
    postprocess,
    preprocess,
    refine_alpha,
)
from ai_cs.errors import ProcessingFailed


def test_preprocess_gives_normalized_nchw_float() -> None:
    rgb = np.zeros((30, 40, 3), np.uint8)
    rgb[..., 0] = 255
    tensor = preprocess(rgb, (16, 24))
    assert tensor.shape == (1, 3, 16, 24)
    assert tensor.dtype == np.float32
    assert tensor.flags["C_CONTIGUOUS"]
    expected_red = (1.0 - IMAGENET_MEAN[0]) / IMAGENET_STD[0]
    expected_green = (0.0 - IMAGENET_MEAN[1]) / IMAGENET_STD[1]
    assert tensor[0, 0].mean() == pytest.approx(expected_red, rel=1e-5)
    assert tensor[0, 1].mean() == pytest.approx(expected_green, rel=1e-5)


def test_postprocess_stretches_probabilities_and_squashes_logits() -> None:
    probabilities = np.full((1, 1, 8, 8), 0.2, np.float32)
    probabilities[0, 0, 2:6, 2:6] = 0.6
    out = postprocess(probabilities, (16, 16))
    assert out.shape == (16, 16)
    assert out.min() == pytest.approx(0.0) and out.max() == pytest.approx(1.0)

    logits = np.full((1, 8, 8), -8.0, np.float32)
    logits[0, 2:6, 2:6] = 8.0
    out = postprocess(logits, (8, 8))
    assert out[4, 4] == pytest.approx(1.0) and out[0, 0] == pytest.approx(0.0)


def test_flat_saliency_is_all_background_and_bad_shapes_fail() -> None:
    assert postprocess(np.full((1, 1, 4, 4), 0.7, np.float32), (4, 4)).max() == 0.0
    with pytest.raises(ProcessingFailed):
        postprocess(np.zeros((5,), np.float32), (4, 4))


def test_clean_mask_drops_specks_and_fills_pinholes() -> None:
    mask = np.zeros((200, 200), bool)
    mask[50:150, 50:150] = True
    mask[100, 100] = False  # pinhole
    mask[10, 10] = True  # speck
    cleaned = clean_mask(mask)
    assert cleaned[100, 100] and not cleaned[10, 10]
    assert cleaned.sum() == 100 * 100


def test_guided_filter_follows_the_guide_edge() -> None:
    guide = np.zeros((64, 64), np.float32)
    guide[:, 32:] = 1.0
    coarse = np.zeros((64, 64), np.float32)
    coarse[:, 28:] = 1.0  # coarse mask edge 4 px off the real edge
    out = guided_filter(guide, coarse, radius=6, eps=1e-3)
    assert out[:, 20].mean() < 0.1 and out[:, 44].mean() > 0.9


def test_refine_alpha_upscales_to_full_size_with_soft_edges() -> None:
    rgb = np.zeros((400, 400, 3), np.uint8)
    cv2.circle(rgb, (200, 200), 120, (255, 255, 255), -1, cv2.LINE_AA)
    coarse = np.zeros((100, 100), np.float32)
    cv2.circle(coarse, (50, 50), 30, 1.0, -1)
    alpha = refine_alpha(coarse, rgb)
    assert alpha.shape == (400, 400) and alpha.dtype == np.float32
    assert alpha[200, 200] == pytest.approx(1.0) and alpha[5, 5] == pytest.approx(0.0)
    soft = np.count_nonzero((alpha > 0.05) & (alpha < 0.95))
    assert 0 < soft < 0.05 * alpha.size


def test_compose_rgba_blanks_fully_transparent_pixels() -> None:
    rgb = np.full((4, 4, 3), 200, np.uint8)
    alpha = np.zeros((4, 4), np.float32)
    alpha[1:3, 1:3] = 1.0
    rgba = compose_rgba(rgb, alpha)
    assert rgba.shape == (4, 4, 4)
    assert rgba[0, 0].tolist() == [0, 0, 0, 0]
    assert rgba[1, 1].tolist() == [200, 200, 200, 255]
