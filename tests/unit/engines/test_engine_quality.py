"""Quality-check functions on hand-made masks and pictures."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ai_cs.engines import quality as q
from ai_cs.engines.base import QualityReport


def _disc(size: int = 200, radius: int = 50) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    cv2.circle(mask, (size // 2, size // 2), radius, 1, -1)
    return mask.astype(bool)


def test_clean_disc_passes_every_mask_check() -> None:
    checks = q.mask_checks(_disc())
    assert all(check.passed for check in checks), [c for c in checks if not c.passed]
    assert QualityReport(tuple(checks)).reason == ""


@pytest.mark.parametrize(
    ("mask", "passed"),
    [
        (np.zeros((100, 100), bool), False),
        (np.ones((100, 100), bool), False),
        (_disc(100, 5), False),  # 0.8 % of the picture
        (_disc(100, 30), True),
    ],
)
def test_foreground_share(mask: np.ndarray, passed: bool) -> None:
    check = q.check_foreground_share(mask)
    assert check.passed is passed
    assert check.threshold == (q.MIN_FOREGROUND_SHARE, q.MAX_FOREGROUND_SHARE)
    assert bool(check.message) is not passed


def test_mask_values_may_be_bool_0_1_0_255_or_float() -> None:
    disc = _disc()
    share = q.foreground_share(disc)
    assert q.foreground_share(disc.astype(np.uint8)) == share
    assert q.foreground_share(disc.astype(np.uint8) * 255) == share
    assert q.foreground_share(disc.astype(np.float32)) == share


def test_border_touch_counts_the_frame_and_honours_the_inset() -> None:
    mask = np.zeros((100, 100), bool)
    mask[60:, :] = True  # a subject running along the bottom and both sides
    assert q.border_touch(mask) == pytest.approx((100 + 2 * 39) / (2 * 100 + 2 * 98))
    framed = np.zeros((100, 100), bool)
    framed[3:-3, 3:-3] = True  # sure-background band of 3 px, everything inside kept
    assert q.border_touch(framed) == 0.0
    assert q.border_touch(framed, inset=3) == 1.0
    assert not q.check_border_touch(framed, inset=3).passed


def test_edge_complexity_separates_smooth_from_ragged() -> None:
    assert q.edge_complexity(_disc()) == pytest.approx(1.0, abs=0.1)
    rng = np.random.default_rng(0)
    confetti = rng.random((200, 200)) < 0.3
    assert q.edge_complexity(confetti) > q.MAX_EDGE_COMPLEXITY
    assert not q.check_edge_complexity(confetti).passed
    assert q.edge_complexity(np.zeros((10, 10), bool)) == 0.0


def test_fragments_count_islands_and_holes_but_not_specks() -> None:
    mask = np.zeros((200, 200), bool)
    for i in range(4):
        mask[20 + 40 * i : 40 + 40 * i, 20:60] = True  # 4 islands
    mask[100:180, 100:180] = True
    mask[120:140, 120:140] = False  # 1 hole
    mask[5, 195] = True  # a 1-px speck: below FRAGMENT_MIN_SHARE, not counted
    assert q.fragment_count(mask) == 6
    many = np.zeros((200, 200), bool)
    for i in range(5):
        for j in range(2):
            many[10 + 35 * i : 30 + 35 * i, 10 + 100 * j : 40 + 100 * j] = True
    assert q.fragment_count(many) == 10
    assert not q.check_fragments(many).passed


def test_sharpness_gain_ignores_pixel_noise() -> None:
    rng = np.random.default_rng(1)
    sharp = np.zeros((200, 200), np.uint8)
    cv2.rectangle(sharp, (50, 50), (150, 150), 255, -1)
    blurred = cv2.GaussianBlur(sharp, (0, 0), 3)
    noisy_blurred = np.clip(blurred + rng.normal(0, 4, blurred.shape), 0, 255).astype(np.uint8)

    assert q.check_sharpness_gain(noisy_blurred, sharp).passed
    assert not q.check_sharpness_gain(sharp, blurred).passed
    # Different sizes are compared at the input's scale.
    big = cv2.resize(sharp, (400, 400), interpolation=cv2.INTER_NEAREST)
    assert q.check_sharpness_gain(blurred, big).passed


def test_flat_picture_has_no_sharpness_gain() -> None:
    flat = np.full((50, 50), 128, np.uint8)
    check = q.check_sharpness_gain(flat, flat)
    assert check.value == 1.0 and not check.passed


def test_min_side_and_change_checks() -> None:
    assert q.check_min_side(400, 300).passed
    assert not q.check_min_side(399, 200).passed
    gray = np.full((20, 20), 100, np.uint8)
    assert q.check_enhance_change(gray, gray + 10).passed
    assert not q.check_enhance_change(gray, gray + 60).passed


def test_render_difference_thresholds_per_preset() -> None:
    a = np.full((100, 100, 3), 200, np.uint8)
    b = a.copy()
    b[:, :50] = 180  # 10 levels on average
    assert q.render_difference(a, b) == pytest.approx(10.0, abs=0.5)
    assert not q.check_render_difference(a, b, "logo").passed
    assert q.check_render_difference(a, b, "photo").passed


def test_svg_size_and_psd_layer_checks() -> None:
    assert q.check_svg_size(1000).passed
    assert not q.check_svg_size(q.MAX_SVG_BYTES + 1).passed
    assert q.check_psd_layers(["a", "b"]).passed
    assert not q.check_psd_layers(["a", ""]).passed
    missing = q.check_psd_layers(["a", "b"], required=("subject",))
    assert not missing.passed and "subject" in missing.message


def test_report_reason_lists_every_failed_check() -> None:
    report = QualityReport(
        (q.check_min_side(100, 100), q.check_svg_size(10), q.check_psd_layers([]))
    )
    assert not report.passed
    assert "100×100" in report.reason and "named layers" in report.reason
    data = report.to_dict()
    assert data["passed"] is False
    assert [c["name"] for c in data["checks"]] == ["min_side", "svg_bytes", "psd_layers"]


@pytest.mark.parametrize("sigma", [1.0, 3.0, 8.0])
def test_noise_level_reads_the_noise_not_the_picture(sigma: float) -> None:
    # A ramp with a hard-edged box on it: structure a noise measure must not count.
    rng = np.random.default_rng(int(sigma * 10))
    picture = np.tile(np.linspace(40, 200, 400, dtype=np.float32), (300, 1))
    picture[100:200, 150:250] = 20.0
    noisy = np.clip(picture + rng.normal(0, sigma, picture.shape), 0, 255)
    assert q.noise_level(noisy) == pytest.approx(sigma, rel=0.15)
    assert q.noise_level(picture) < 0.2


def test_the_noise_check_compares_on_the_inputs_flat_parts() -> None:
    rng = np.random.default_rng(4)
    clean = np.tile(np.linspace(60, 190, 320, dtype=np.float32), (240, 1))
    before = np.clip(clean + rng.normal(0, 2.0, clean.shape), 0, 255).astype(np.uint8)
    smoother = np.clip(clean + rng.normal(0, 1.0, clean.shape), 0, 255).astype(np.uint8)
    grainier = np.clip(clean + rng.normal(0, 4.0, clean.shape), 0, 255).astype(np.uint8)
    assert q.check_noise(before, smoother).passed
    check = q.check_noise(before, grainier)
    assert not check.passed and check.value > check.threshold  # type: ignore[operator]
    # A 2× result is compared at the input's size.
    assert q.check_noise(before, cv2.resize(smoother, (640, 480))).passed
