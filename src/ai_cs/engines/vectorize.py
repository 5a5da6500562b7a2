"""Vectorizing (转矢量图): trace a picture into a clean SVG with vtracer.

The picture is downscaled to the preset's maximum side, traced by vtracer in a child process
with a time limit (a pathological picture can make a trace run for minutes; a child process can
be killed, a thread cannot), sanitized (:mod:`ai_cs.engines.svg_safety`), and rendered back with
resvg to check that it still looks like the original. The order's requirements (page size,
background, PDF/EPS/PNG formats) are then applied by :mod:`ai_cs.engines.vector_output`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Final

import cv2
import numpy as np

from ai_cs.core.tasks import Operation
from ai_cs.engines.base import (
    EngineOptions,
    EngineResult,
    EngineTimeout,
    ImageInput,
    QualityReport,
    UnknownPreset,
    encode_png,
    resize_to_side,
    to_pil,
)
from ai_cs.engines.quality import RENDER_COMPARE_SIDE, check_render_difference, check_svg_size
from ai_cs.engines.svg_safety import UnsafeSvg, clean_svg
from ai_cs.engines.vector_output import deliver_vector, on_white, render_svg, set_root
from ai_cs.errors import ProcessingFailed


@dataclass(frozen=True, slots=True)
class VectorizePreset:
    """Tracing settings for one kind of picture."""

    name: str
    max_side: int
    """The picture is downscaled to this longest side before tracing (time grows with pixels)."""
    vtracer: dict[str, object] = field(default_factory=dict)
    """Keyword arguments of ``vtracer.convert_raw_image_to_svg``."""
    median: int = 0
    """Median filter size applied first (0 = none): removes speckle noise that would otherwise
    become thousands of tiny paths and multiply the trace time."""
    levels: int = 0
    """Posterize each channel to this many evenly spaced levels (0 = keep colours).

    vtracer clusters neighbouring pixels whose colours differ little, so a smooth gradient
    collapses into one flat region of its mean colour; banding the gradient first lets it be
    traced as steps.
    """


PRESETS: Final[dict[str, VectorizePreset]] = {
    # Flat logos: keep small details and sharp corners, few colour layers.
    "logo": VectorizePreset(
        "logo",
        max_side=1024,
        vtracer={
            "colormode": "color",
            "hierarchical": "stacked",
            "mode": "spline",
            "filter_speckle": 4,
            "color_precision": 6,
            "layer_difference": 16,
            "corner_threshold": 60,
            "length_threshold": 4.0,
            "splice_threshold": 45,
            "path_precision": 3,
        },
    ),
    # Posters and illustrations: more colours, speckles merged so gradients stay manageable.
    "poster": VectorizePreset(
        "poster",
        max_side=1200,
        vtracer={
            "colormode": "color",
            "hierarchical": "stacked",
            "mode": "spline",
            "filter_speckle": 6,
            "color_precision": 7,
            "layer_difference": 12,
            "corner_threshold": 60,
            "length_threshold": 4.0,
            "splice_threshold": 45,
            "path_precision": 2,
        },
        median=3,
        levels=16,
    ),
    # Photos: smaller working size and coarser speckle filter, otherwise the SVG explodes.
    "photo": VectorizePreset(
        "photo",
        max_side=800,
        vtracer={
            "colormode": "color",
            "hierarchical": "stacked",
            "mode": "spline",
            "filter_speckle": 10,
            "color_precision": 6,
            "layer_difference": 16,
            "corner_threshold": 90,
            "length_threshold": 4.0,
            "splice_threshold": 45,
            "path_precision": 2,
        },
        median=3,
        levels=16,
    ),
}

LOGO_MAX_COLOURS: Final = 12
"""Auto preset: pictures whose dominant colours (95 % of pixels) number at most this are logos."""

POSTER_MAX_COLOURS: Final = 160
"""Auto preset: up to this many dominant colours is a poster/illustration; more is a photo."""

# The child process imports only vtracer (tens of milliseconds), reads a JSON header line and the
# PNG from stdin and writes the SVG to stdout.
_TRACE_CHILD: Final = """
import json, sys, vtracer
header, _, image = sys.stdin.buffer.read().partition(b"\\n")
svg = vtracer.convert_raw_image_to_svg(image, img_format="png", **json.loads(header))
sys.stdout.buffer.write(svg.encode("utf-8"))
"""


class VectorizeEngine:
    """vtracer tracing with presets, a time limit, sanitizing and a render-back check."""

    name = "vtracer"
    operation = Operation.VECTORIZE

    def process(self, image: ImageInput, options: EngineOptions) -> EngineResult:
        """A sanitized SVG (or PDF/EPS, or several in a ZIP) as the order asks, with checks."""
        started = time.perf_counter()
        picture = to_pil(image)
        rgba = np.asarray(picture.convert("RGBA"))
        preset = resolve_preset(options.preset, rgba)
        traced = resize_to_side(rgba, preset.max_side)[0]
        svg = trace(prepare(traced, preset), preset, timeout_s=options.timeout_s)
        box = (0.0, 0.0, float(traced.shape[1]), float(traced.shape[0]))
        svg = set_root(svg, str(picture.width), str(picture.height), box)
        try:
            cleaned = clean_svg(svg)
        except UnsafeSvg as exc:
            raise ProcessingFailed(
                f"vectorizer output was refused by the sanitizer: {exc}"
            ) from exc
        # Compare at the check's own resolution: resvg anti-aliases while rendering small, and
        # rendering the full size only to shrink it again would cost several times more.
        reference, _ = resize_to_side(traced, RENDER_COMPARE_SIDE)
        rendered = render_svg(cleaned.data, reference.shape[1], reference.shape[0])
        checks = (
            check_render_difference(on_white(reference), on_white(rendered), preset.name),
            check_svg_size(len(cleaned.data)),
        )
        result = EngineResult(
            operation=self.operation,
            engine=self.name,
            data=cleaned.data,
            extension=".svg",
            mime="image/svg+xml",
            width=picture.width,
            height=picture.height,
            quality=QualityReport(checks),
            metadata={
                "preset": preset.name,
                "traced_size": [int(traced.shape[1]), int(traced.shape[0])],
                "paths": cleaned.data.count(b"<path"),
                "sanitizer_removed": len(cleaned.removed),
            },
        )
        result = deliver_vector(result, options.requirements)
        return replace(result, elapsed_ms=(time.perf_counter() - started) * 1000.0)


def resolve_preset(name: str | None, rgba: np.ndarray) -> VectorizePreset:
    """The named preset, or one chosen from the picture's colours when ``name`` is empty."""
    if not name:
        return PRESETS[choose_preset(rgba)]
    try:
        return PRESETS[name.strip().lower()]
    except KeyError:
        raise UnknownPreset(
            f"unknown vectorize preset {name!r}; expected one of {sorted(PRESETS)}"
        ) from None


def choose_preset(rgba: np.ndarray) -> str:
    """``logo``, ``poster`` or ``photo`` from how many colours cover 95 % of the picture."""
    small, _ = resize_to_side(rgba, 128)
    opaque = small[small[:, :, 3] >= 128][:, :3] if small.shape[2] == 4 else small.reshape(-1, 3)
    if opaque.size == 0:
        return "logo"
    quantized = (opaque.astype(np.int32) >> 4) @ np.array([256, 16, 1], np.int32)
    counts = np.sort(np.bincount(quantized))[::-1]
    covered = np.cumsum(counts) / counts.sum()
    colours = int(np.searchsorted(covered, 0.95) + 1)
    if colours <= LOGO_MAX_COLOURS:
        return "logo"
    return "poster" if colours <= POSTER_MAX_COLOURS else "photo"


def prepare(rgba: np.ndarray, preset: VectorizePreset) -> np.ndarray:
    """The picture as the preset wants it traced: median-filtered and posterized if configured."""
    rgb = np.ascontiguousarray(rgba[:, :, :3])
    if preset.median:
        rgb = cv2.medianBlur(rgb, preset.median)
    if preset.levels:
        # Evenly spaced levels that include 0 and 255, so white and black stay exact.
        step = 255.0 / (preset.levels - 1)
        rgb = (np.round(rgb.astype(np.float32) / step) * step).clip(0, 255).astype(np.uint8)
    if not preset.median and not preset.levels:
        return rgba
    return np.dstack([rgb, rgba[:, :, 3]])


def trace(rgba: np.ndarray, preset: VectorizePreset, timeout_s: float) -> bytes:
    """The SVG vtracer makes of ``rgba``, traced in a child process killed after ``timeout_s``."""
    payload = json.dumps(preset.vtracer).encode("utf-8") + b"\n" + encode_png(rgba, 1)
    try:
        completed = subprocess.run(
            [sys.executable, "-I", "-c", _TRACE_CHILD],
            input=payload,
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        # subprocess.run has already killed and reaped the child.
        raise EngineTimeout(
            f"vectorizing took longer than {timeout_s:g} s and was stopped",
            timeout_s=timeout_s,
        ) from exc
    if completed.returncode != 0 or not completed.stdout:
        lines = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        last = lines[-1] if lines else "no output"
        raise ProcessingFailed(f"vectorizer failed (exit {completed.returncode}): {last}")
    return completed.stdout
