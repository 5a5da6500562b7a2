"""Quality checks (质检) of engine results.

Each check is a small function returning a :class:`~ai_cs.engines.base.QualityCheck`; thresholds
are module constants so they can be read, argued about and tuned in one place. A check that fails
sends the job to a human designer, so thresholds lean towards failing: a designer touching a good
picture costs minutes, a bad cut-out shipped to a customer costs the order.
"""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np

from ai_cs.engines.base import QualityCheck

# --- cut-out masks (remove_bg, remove_bg_and_layer) ------------------------------------------

MIN_FOREGROUND_SHARE: Final = 0.02
"""Smallest share of the picture the subject may cover.

Below 2 % GrabCut has usually collapsed onto a speck, or the subject is too small to be worth a
cut-out at this resolution; either way a human should look.
"""

MAX_FOREGROUND_SHARE: Final = 0.95
"""Largest share of the picture the subject may cover.

Above 95 % almost nothing was removed: the separation failed (or there was no background).
"""

MAX_BORDER_TOUCH: Final = 0.30
"""Largest share of the picture's outer frame that may be foreground.

A product photo has background all around; a subject cropped at one edge (a person cut at the
waist) touches at most one side, about 15–29 % of the frame. More means the "subject" runs along
the edges, i.e. background was kept.
"""

MAX_EDGE_COMPLEXITY: Final = 3.0
"""Largest outline length relative to a circle of the same area.

Clean product outlines score 1.0–2.0 and people or plants 2–3. A cut that followed clutter in the
background (busy scenes GrabCut cannot separate) produces ragged outlines scoring 4 and more.
"""

MAX_FRAGMENTS: Final = 8
"""Most separate pieces (foreground islands plus holes) a mask may have.

A good cut-out is one or a few pieces; a separation that failed leaves islands of background
colour scattered over the frame. Specks below :data:`FRAGMENT_MIN_SHARE` are not counted.
"""

FRAGMENT_MIN_SHARE: Final = 0.0001
"""Pieces smaller than 0.01 % of the picture are noise that clean-up removes; not counted."""


def foreground_share(mask: np.ndarray) -> float:
    """Share of pixels that are foreground (mask is boolean or 0..1/0..255)."""
    return float(_as_bool(mask).mean())


def check_foreground_share(mask: np.ndarray) -> QualityCheck:
    """The subject covers a sensible share of the picture (neither a speck nor everything)."""
    share = foreground_share(mask)
    passed = MIN_FOREGROUND_SHARE <= share <= MAX_FOREGROUND_SHARE
    message = ""
    if share < MIN_FOREGROUND_SHARE:
        message = (
            f"subject covers only {share:.1%} of the picture (at least {MIN_FOREGROUND_SHARE:.0%})"
        )
    elif share > MAX_FOREGROUND_SHARE:
        message = f"subject covers {share:.1%} of the picture; the background was not removed"
    return QualityCheck(
        name="foreground_share",
        value=share,
        threshold=(MIN_FOREGROUND_SHARE, MAX_FOREGROUND_SHARE),
        comparison="within",
        passed=passed,
        message=message,
    )


def border_touch(mask: np.ndarray, inset: int = 0) -> float:
    """Share of the pixel frame ``inset`` pixels inside the picture's edge that is foreground.

    ``inset`` skips a band the segmenter forced to background (GrabCut's sure-background
    border), which would otherwise always read as clean.
    """
    fg = _as_bool(mask)
    height, width = fg.shape[:2]
    inset = max(0, min(inset, (min(height, width) - 1) // 2))
    ring = fg[inset : height - inset, inset : width - inset]
    frame = np.concatenate([ring[0, :], ring[-1, :], ring[1:-1, 0], ring[1:-1, -1]])
    return float(frame.mean()) if frame.size else 0.0


def check_border_touch(mask: np.ndarray, inset: int = 0) -> QualityCheck:
    """The subject does not run along the picture's edges."""
    value = border_touch(mask, inset)
    return QualityCheck.at_most(
        "border_touch",
        value,
        MAX_BORDER_TOUCH,
        f"{value:.0%} of the picture's edge is kept as subject; background was not separated",
    )


def edge_complexity(mask: np.ndarray) -> float:
    """Total outline length divided by the circumference of a circle with the same area.

    1.0 for a disc; grows with ragged, fragmented outlines. 0.0 for an empty mask.
    """
    fg = _as_bool(mask).astype(np.uint8)
    area = float(fg.sum())
    if area == 0:
        return 0.0
    contours, _ = cv2.findContours(fg, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    perimeter = sum(cv2.arcLength(contour, True) for contour in contours)
    return float(perimeter / (2.0 * np.sqrt(np.pi * area)))


def check_edge_complexity(mask: np.ndarray) -> QualityCheck:
    """The outline is not ragged (a ragged outline means the cut followed background clutter)."""
    value = edge_complexity(mask)
    return QualityCheck.at_most(
        "edge_complexity",
        value,
        MAX_EDGE_COMPLEXITY,
        f"the cut-out outline is ragged ({value:.1f}× a smooth outline); "
        "the background is too busy to separate",
    )


def fragment_count(mask: np.ndarray) -> int:
    """Foreground islands plus enclosed holes, each at least :data:`FRAGMENT_MIN_SHARE`."""
    fg = _as_bool(mask).astype(np.uint8)
    min_area = max(1.0, FRAGMENT_MIN_SHARE * fg.size)
    islands = _components_at_least(fg, min_area)
    # Holes: background components that do not touch the frame (the outer background is one
    # component touching it; padding with background joins everything outside into it).
    background = np.pad(1 - fg, 1, constant_values=1)
    holes = _components_at_least(background, min_area) - 1
    return islands + max(holes, 0)


def check_fragments(mask: np.ndarray) -> QualityCheck:
    """The mask is a few solid pieces, not confetti."""
    value = fragment_count(mask)
    return QualityCheck.at_most(
        "fragments",
        float(value),
        float(MAX_FRAGMENTS),
        f"the cut-out falls into {value} pieces (at most {MAX_FRAGMENTS}); "
        "background and subject were mixed up",
    )


def mask_checks(mask: np.ndarray) -> list[QualityCheck]:
    """Every check of a cut-out mask, in the order they are reported."""
    return [
        check_foreground_share(mask),
        check_border_touch(mask),
        check_edge_complexity(mask),
        check_fragments(mask),
    ]


# --- enhance ----------------------------------------------------------------------------------

MIN_SHARPNESS_GAIN: Final = 1.05
"""The enhanced picture must measure at least 5 % sharper than the input.

Below that the customer sees no difference and would rightly ask what they paid for.
"""

MIN_ENHANCED_SIDE: Final = 400
"""Smallest longest side (px) of an enhanced picture.

Inputs under 200 px are only doubled by the Lanczos upscale; anything still below 400 px is a
thumbnail that needs a human (or a real super-resolution model), not a filter chain.
"""

MAX_ENHANCE_CHANGE: Final = 25.0
"""Largest mean absolute difference (0–255 gray levels, at the input's scale) from the input.

Enhancing must not change what the picture shows; a larger change means a filter went wrong
(colour cast, blown contrast).
"""

SHARPNESS_PRESMOOTH_SIGMA: Final = 1.0
"""Gaussian smoothing before measuring sharpness.

Pixel noise has large gradients too; smoothing by one pixel removes most of it while keeping real
edges, so denoising a noisy picture is not mistaken for blurring it.
"""


def sharpness(gray: np.ndarray) -> float:
    """Tenengrad sharpness: mean squared Sobel gradient of the lightly smoothed gray picture."""
    image: np.ndarray = gray.astype(np.float32)
    image = cv2.GaussianBlur(image, (0, 0), SHARPNESS_PRESMOOTH_SIGMA)
    gx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3)
    return float(np.mean(gx * gx + gy * gy))


def check_sharpness_gain(before_gray: np.ndarray, after_gray: np.ndarray) -> QualityCheck:
    """The result is sharper than the input, both measured at the input's size."""
    after_gray = _at_size_of(after_gray, before_gray)
    before = sharpness(before_gray)
    after = sharpness(after_gray)
    gain = after / before if before > 0 else (1.0 if after == 0 else float("inf"))
    return QualityCheck.at_least(
        "sharpness_gain",
        gain,
        MIN_SHARPNESS_GAIN,
        f"the result is not visibly sharper ({gain:.2f}× the input)",
    )


FLAT_SHARE: Final = 0.3
"""Noise is measured on the flattest 30 % of the input (by smoothed gradient).

Noise is what a customer sees on sky, walls, skin and studio backdrops; on texture and edges
a noise estimate mostly measures the picture itself, and sharpening would read as noise.
"""

CLIPPED_LEVELS: Final = (3, 252)
"""Pixels at or beyond these gray levels are left out of the noise measure: clipped black or
white shows no noise whatever was done to it."""

MAX_NOISE_RATIO: Final = 1.15
NOISE_ALLOWANCE: Final = 0.35
"""An enhanced picture may measure at most ``input × 1.15 + 0.35`` gray levels of noise.

Measured on scikit-image's photographs (astronaut, camera, chelsea, coffee, rocket, motorcycle,
moon, coins; the written JPEG against its input): the enhance chain ends within -0.3..+0.15
levels of its input, the previous chain (CLAHE and unsharp over everything) added 0.8..1.8
levels, and a result with σ = 6 noise added at output scale measures 0.9..1.6 levels above its
input. The allowance keeps JPEG's own quantization from failing a clean picture.
"""

_NOISE_KERNEL: Final = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def flat_mask(gray: np.ndarray, share: float = FLAT_SHARE) -> np.ndarray:
    """The flattest ``share`` of the picture (boolean), clipped black and white left out."""
    smooth = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 1.5)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
    structure = cv2.GaussianBlur(np.sqrt(gx * gx + gy * gy), (0, 0), 3.0)
    unclipped = (gray > CLIPPED_LEVELS[0]) & (gray < CLIPPED_LEVELS[1])
    if np.count_nonzero(unclipped) < 0.05 * gray.size:
        unclipped = np.ones_like(unclipped)
    mask: np.ndarray = unclipped & (structure <= np.quantile(structure[unclipped], share))
    return mask


def noise_level(gray: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Standard deviation of pixel noise (gray levels) where ``mask`` is set (default: flat parts).

    Immerkær's kernel (a difference of two Laplacians) cancels smooth image structure and
    leaves noise with a standard deviation of 6σ; the mean absolute response over the flat
    parts, the largest 5 % dropped (a stray edge), gives σ (× √(π/2) for a normal distribution).
    """
    height, width = gray.shape[:2]
    if height < 3 or width < 3:
        return 0.0
    if mask is None:
        mask = flat_mask(gray)
    response = np.abs(cv2.filter2D(gray.astype(np.float32), cv2.CV_32F, _NOISE_KERNEL))
    values = response[1:-1, 1:-1][mask[1:-1, 1:-1]]
    if values.size == 0:
        return 0.0
    values = values[values <= np.quantile(values, 0.95)]
    return float(np.sqrt(np.pi / 2.0) * values.mean() / 6.0)


def check_noise(before_gray: np.ndarray, after_gray: np.ndarray) -> QualityCheck:
    """The result is not noisier than the input, both measured on the input's flat parts.

    Sharpening and local contrast raise noise as much as detail; a sharpness measure alone
    passes a result visibly grainier than the original. Measured at the input's size.
    """
    after_gray = _at_size_of(after_gray, before_gray)
    mask = flat_mask(before_gray)
    before = noise_level(before_gray, mask)
    after = noise_level(after_gray, mask)
    limit = before * MAX_NOISE_RATIO + NOISE_ALLOWANCE
    passed = after <= limit
    return QualityCheck(
        name="noise",
        value=after,
        threshold=round(limit, 4),
        comparison="<=",
        passed=passed,
        message=""
        if passed
        else f"the result is noisier than the input ({after:.1f} vs {before:.1f} gray levels)",
    )


def check_min_side(width: int, height: int, min_side: int = MIN_ENHANCED_SIDE) -> QualityCheck:
    """The result's longest side is at least ``min_side`` pixels."""
    longest = max(width, height)
    return QualityCheck.at_least(
        "min_side",
        float(longest),
        float(min_side),
        f"the result is only {width}×{height} px (at least {min_side})",
    )


def check_enhance_change(before_gray: np.ndarray, after_gray: np.ndarray) -> QualityCheck:
    """The enhanced picture still shows the same thing (small mean change at the input's scale)."""
    after_gray = _at_size_of(after_gray, before_gray)
    value = float(np.mean(np.abs(before_gray.astype(np.float32) - after_gray.astype(np.float32))))
    return QualityCheck.at_most(
        "change_from_input",
        value,
        MAX_ENHANCE_CHANGE,
        f"enhancing changed the picture too much ({value:.1f} levels)",
    )


# --- vectorize --------------------------------------------------------------------------------

RENDER_COMPARE_SIDE: Final = 256
"""Longest side at which the rendered SVG is compared with the original.

Small enough that a sub-pixel shift of a traced edge does not count as a difference, large enough
that a missing shape or wrong colour does.
"""

MAX_RENDER_DIFFERENCE: Final[dict[str, float]] = {"logo": 6.0, "poster": 10.0, "photo": 16.0}
"""Largest mean absolute RGB difference (0–255) between the SVG's rendering and the original.

A flat logo must come back almost exactly (≈1–3 levels for a good trace); posters and photos lose
gradients and texture to flat colour regions by design, so they are allowed more.
"""

MAX_SVG_BYTES: Final = 8_000_000
"""Largest SVG delivered (8 MB); bigger files are unusable in design tools and web pages."""


def render_difference(original_rgb: np.ndarray, rendered_rgb: np.ndarray) -> float:
    """Mean absolute RGB difference (0–255) of two pictures, compared downscaled.

    Both are resized to :data:`RENDER_COMPARE_SIDE` on their longest side first.
    """
    height, width = original_rgb.shape[:2]
    scale = RENDER_COMPARE_SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    a = cv2.resize(original_rgb, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    b = cv2.resize(rendered_rgb, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    return float(np.mean(np.abs(a - b)))


def check_render_difference(
    original_rgb: np.ndarray, rendered_rgb: np.ndarray, preset: str
) -> QualityCheck:
    """The SVG, rendered back, looks like the original."""
    threshold = MAX_RENDER_DIFFERENCE[preset]
    value = render_difference(original_rgb, rendered_rgb)
    return QualityCheck.at_most(
        "render_difference",
        value,
        threshold,
        f"the traced SVG differs from the original by {value:.1f} levels "
        f"(at most {threshold:g} for {preset})",
    )


def check_svg_size(size_bytes: int) -> QualityCheck:
    """The SVG is small enough to be usable."""
    return QualityCheck.at_most(
        "svg_bytes",
        float(size_bytes),
        float(MAX_SVG_BYTES),
        f"the SVG is {size_bytes / 1e6:.1f} MB; too detailed to use",
    )


# --- layered PSD ------------------------------------------------------------------------------

MIN_PSD_LAYERS: Final = 2
"""A layered delivery needs at least the subject and the background as separate named layers."""


def check_psd_layers(names: list[str], required: tuple[str, ...] = ()) -> QualityCheck:
    """The PSD, read back, has :data:`MIN_PSD_LAYERS`+ named layers, ``required`` among them."""
    named = [name for name in names if name.strip()]
    missing = [name for name in required if name not in named]
    passed = len(named) >= MIN_PSD_LAYERS and not missing
    message = ""
    if missing:
        message = f"the PSD lacks the layers {missing}"
    elif not passed:
        message = f"the PSD has {len(named)} named layers (at least {MIN_PSD_LAYERS})"
    return QualityCheck(
        name="psd_layers",
        value=float(len(named)),
        threshold=float(MIN_PSD_LAYERS),
        comparison=">=",
        passed=passed,
        message=message,
    )


# --- helpers ----------------------------------------------------------------------------------


def _at_size_of(after_gray: np.ndarray, before_gray: np.ndarray) -> np.ndarray:
    # An enhanced result may be upscaled; the enhance checks compare it with the input pixel
    # for pixel, so they measure it at the input's size.
    if after_gray.shape == before_gray.shape:
        return after_gray
    height, width = before_gray.shape[:2]
    return cv2.resize(after_gray, (width, height), interpolation=cv2.INTER_AREA)


def _as_bool(mask: np.ndarray) -> np.ndarray:
    if mask.dtype == np.bool_:
        return mask
    if np.issubdtype(mask.dtype, np.floating):
        return mask >= 0.5
    return mask >= 128 if int(mask.max(initial=0)) > 1 else mask > 0


def _components_at_least(binary: np.ndarray, min_area: float) -> int:
    count, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    areas = stats[1:count, cv2.CC_STAT_AREA]
    return int(np.count_nonzero(areas >= min_area))
