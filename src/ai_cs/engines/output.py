"""Making a deliverable what the customer asked for, and checking that it is.

Shared by the engines whose result has an exact shape (证件照, 改尺寸/压缩): bring a picture to an
exact pixel size (crop, pad or stretch), put it on a background colour, encode it within a file
size range, and the quality checks that measure each of those on the encoded file itself — the
bytes the customer gets, not the pixels before encoding.
"""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Final

import numpy as np
from PIL import Image

from ai_cs.core.requirements import COLOURS, Requirements
from ai_cs.engines.base import EngineResult, QualityCheck, QualityReport

CORNER_TOLERANCE: Final = 40.0
"""Largest mean RGB distance of a corner patch from the asked background (0..441)."""

JPEG_QUALITIES: Final = (95, 92, 88, 84, 80, 75, 70, 65, 60, 55, 50, 45, 40, 35, 30, 25, 20, 15)
"""Qualities tried, best first, until the file fits under ``max_kb``."""


def fit_to_size(
    image: Image.Image, size: tuple[int, int], fit: str, fill: tuple[int, ...]
) -> Image.Image:
    """``image`` at exactly ``size``: cropped, padded with ``fill``, or stretched."""
    width, height = size
    if image.size == size:
        return image
    if fit == "stretch":
        return image.resize(size, Image.Resampling.LANCZOS)
    scale_cover = max(width / image.width, height / image.height)
    scale_fit = min(width / image.width, height / image.height)
    if fit == "pad":
        scaled = image.resize(
            (max(1, round(image.width * scale_fit)), max(1, round(image.height * scale_fit))),
            Image.Resampling.LANCZOS,
        )
        canvas = Image.new(image.mode, size, fill)
        canvas.paste(scaled, ((width - scaled.width) // 2, (height - scaled.height) // 2))
        return canvas
    scaled = image.resize(
        (
            max(width, round(image.width * scale_cover)),
            max(height, round(image.height * scale_cover)),
        ),
        Image.Resampling.LANCZOS,
    )
    left = (scaled.width - width) // 2
    top = (scaled.height - height) // 2
    return scaled.crop((left, top, left + width, top + height))


def on_background(rgba: Image.Image, colour: tuple[int, int, int]) -> Image.Image:
    """An RGBA picture flattened onto a solid colour (RGB)."""
    base = Image.new("RGBA", rgba.size, (*colour, 255))
    base.alpha_composite(rgba.convert("RGBA"))
    return base.convert("RGB")


def encode(
    image: Image.Image, requirements: Requirements, *, default: str = "jpg"
) -> tuple[bytes, str]:
    """Encoded bytes and extension (``.jpg`` / ``.png``), within the asked file size if possible.

    JPEG: the best quality that fits under ``max_kb``; a file below ``min_kb`` at the best
    quality is padded with a JPEG comment segment (upload forms that demand 20–50 KB only count
    bytes). PNG: lossless first, then a 256-colour palette when that is what fits. When nothing
    fits, the smallest attempt is returned and :func:`check_file_size` fails it.
    """
    fmt = requirements.format or ("png" if image.mode == "RGBA" else default)
    low, high = requirements.size_range_bytes()
    if fmt == "png":
        data = _png(image)
        if high is not None and len(data) > high:
            data = min(data, _png(image.quantize(256, dither=Image.Dither.FLOYDSTEINBERG)), key=len)
        return data, ".png"
    rgb = image.convert("RGB") if image.mode != "RGB" else image
    data = _jpeg(rgb, JPEG_QUALITIES[0])
    if high is not None and len(data) > high:
        for quality in JPEG_QUALITIES[1:]:
            data = _jpeg(rgb, quality)
            if len(data) <= high:
                break
    if low is not None and len(data) < low:
        data = pad_jpeg(data, low)
    return data, ".jpg"


def pad_jpeg(data: bytes, at_least: int) -> bytes:
    """``data`` with COM (comment) segments after SOI so the file has ``at_least`` bytes.

    Decoders skip comments, so the picture is unchanged.
    """
    missing = at_least - len(data)
    if missing <= 0:
        return data
    segments = bytearray()
    while missing > 0:
        body = min(65533, max(1, missing - 4))
        segments += b"\xff\xfe" + (body + 2).to_bytes(2, "big") + b"\x00" * body
        missing -= body + 4
    return data[:2] + bytes(segments) + data[2:]


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    subsampling = 0 if quality >= 90 else 2
    try:
        image.save(out, format="JPEG", quality=quality, subsampling=subsampling, optimize=True)
    except OSError:
        # libjpeg's optimiser needs the whole picture in one buffer ("Suspension not allowed
        # here" for large noisy pictures); the plain encoder streams.
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=quality, subsampling=subsampling)
    return out.getvalue()


# --- checks on the encoded file ---------------------------------------------------------------
def decoded(data: bytes) -> Image.Image:
    """The encoded deliverable decoded again, as the customer's viewer will see it."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return img.copy()


def check_exact_size(actual: tuple[int, int], wanted: tuple[int, int]) -> QualityCheck:
    """The file has exactly the pixels asked for."""
    passed = actual == wanted
    return QualityCheck(
        name="pixel_size",
        value=float(actual[0] * 10_000 + actual[1]),
        threshold=float(wanted[0] * 10_000 + wanted[1]),
        comparison="within",
        passed=passed,
        message="" if passed else f"尺寸是 {actual[0]}×{actual[1]}，要求 {wanted[0]}×{wanted[1]}",
    )


def check_file_size(size_bytes: int, requirements: Requirements) -> QualityCheck:
    """The file's size lies in the asked range (1 KB = 1024 bytes)."""
    low, high = requirements.size_range_bytes()
    passed = (low is None or size_bytes >= low) and (high is None or size_bytes <= high)
    wanted = f"{requirements.min_kb or 0}–{requirements.max_kb or '∞'} KB"
    return QualityCheck(
        name="file_size_kb",
        value=size_bytes / 1024,
        threshold=(float(requirements.min_kb or 0), float(requirements.max_kb or 1e9)),
        comparison="within",
        passed=passed,
        message="" if passed else f"文件 {size_bytes / 1024:.1f} KB，要求 {wanted}",
    )


def check_format(data: bytes, wanted: str) -> QualityCheck:
    """The file is the format asked for, by its magic bytes."""
    actual = (
        "png" if data.startswith(b"\x89PNG") else "jpg" if data.startswith(b"\xff\xd8") else "?"
    )
    passed = actual == wanted
    return QualityCheck(
        name="format",
        value=1.0 if passed else 0.0,
        threshold=1.0,
        comparison=">=",
        passed=passed,
        message="" if passed else f"格式是 {actual}，要求 {wanted}",
    )


def corner_distance(
    image: Image.Image, colour: tuple[int, int, int], share: float = 0.06, *, top_only: bool = False
) -> float:
    """Largest mean RGB distance from ``colour`` among the corner patches (or the top two)."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    height, width = rgb.shape[:2]
    ph, pw = max(1, round(height * share)), max(1, round(width * share))
    patches = [rgb[:ph, :pw], rgb[:ph, -pw:]]
    if not top_only:
        patches += [rgb[-ph:, :pw], rgb[-ph:, -pw:]]
    target = np.asarray(colour, dtype=np.float32)
    return max(float(np.linalg.norm(p.reshape(-1, 3).mean(axis=0) - target)) for p in patches)


def check_background(
    image: Image.Image, colour: tuple[int, int, int], *, top_only: bool = False
) -> QualityCheck:
    """The corners of the result (or its top two) are the background colour asked for."""
    distance = corner_distance(image, colour, 0.08 if top_only else 0.06, top_only=top_only)
    passed = distance <= CORNER_TOLERANCE
    return QualityCheck(
        name="background_colour",
        value=distance,
        threshold=CORNER_TOLERANCE,
        comparison="<=",
        passed=passed,
        message="" if passed else f"{'上方两角' if top_only else '四角'}不是要求的底色",
    )


def conform(result: EngineResult, requirements: Requirements) -> EngineResult:
    """An engine's raster result brought to what the order asks, with checks for each ask.

    For engines that do not read the requirements themselves (cut-out, enhance): a background
    colour flattens a transparent cut-out, ``size`` brings it to exact pixels, ``format`` and
    the file-size range decide the encoding. A vector or layered result is left as it is, and a
    format it cannot have fails its check (a designer converts it).
    """
    if requirements.is_empty:
        return result
    if result.extension not in (".png", ".jpg"):
        wanted = requirements.format
        if wanted is None or wanted == result.extension.lstrip("."):
            return result
        mismatch = QualityCheck(
            name="format",
            value=0.0,
            threshold=1.0,
            comparison=">=",
            passed=False,
            message=f"格式是 {result.extension.lstrip('.')}，要求 {wanted}",
        )
        return replace(result, quality=QualityReport((*result.quality.checks, mismatch)))
    picture = decoded(result.data)
    picture = (
        picture.convert("RGBA") if picture.mode in ("RGBA", "LA", "P") else picture.convert("RGB")
    )
    colour = requirements.rgb()
    if colour is not None and picture.mode == "RGBA":
        picture = on_background(picture, colour)
    fmt = requirements.format or ("png" if picture.mode == "RGBA" else result.extension.lstrip("."))
    if fmt == "jpg" and picture.mode == "RGBA":
        picture = on_background(picture, colour or COLOURS["white"])
    if requirements.size is not None:
        fill: tuple[int, ...] = (*(colour or COLOURS["white"]), 0 if colour is None else 255)
        picture = fit_to_size(
            picture,
            requirements.size,
            requirements.fit,
            fill if picture.mode == "RGBA" else fill[:3],
        )
    data, extension = encode(picture, requirements.model_copy(update={"format": fmt}))
    delivered = decoded(data)
    checks = [*result.quality.checks, check_format(data, fmt)]
    if requirements.size is not None:
        checks.append(check_exact_size(delivered.size, requirements.size))
    if colour is not None:
        checks.append(check_background(delivered, colour))
    if requirements.min_kb is not None or requirements.max_kb is not None:
        checks.append(check_file_size(len(data), requirements))
    return replace(
        result,
        data=data,
        extension=extension,
        mime="image/png" if extension == ".png" else "image/jpeg",
        width=delivered.width,
        height=delivered.height,
        quality=QualityReport(tuple(checks)),
        metadata={**result.metadata, "requirements": requirements.to_json()},
    )
