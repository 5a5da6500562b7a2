"""Making a deliverable what the customer asked for, and checking that it is.

Shared by every engine: bring a picture to an exact pixel or print size (crop, pad or stretch),
put it on a background colour, encode it in the asked format with the asked DPI, JPEG quality and
file size, bundle several formats into one ZIP, and the quality checks that measure each of those
on the encoded file itself — the bytes the customer gets, not the pixels before encoding.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import replace
from typing import Final, Literal

import numpy as np
from PIL import Image

from ai_cs.core.requirements import COLOURS, Requirements
from ai_cs.engines.base import EngineResult, QualityCheck, QualityReport

CORNER_TOLERANCE: Final = 40.0
"""Largest mean RGB distance of a corner patch from the asked background (0..441)."""

TRANSPARENT_CORNER_MAX_ALPHA: Final = 16.0
"""Largest mean alpha (0..255) of a corner patch of a result asked to be transparent."""

JPEG_QUALITIES: Final = (95, 92, 88, 84, 80, 75, 70, 65, 60, 55, 50, 45, 40, 35, 30, 25, 20, 15)
"""Qualities tried, best first, until the file fits under ``max_kb``."""

DEFAULT_JPEG_QUALITY: Final = 95

DPI_TOLERANCE: Final = 0.5
"""PNG stores pixels per metre, so 300 DPI reads back as 299.9994."""

MIME_TYPES: Final[dict[str, str]] = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "eps": "application/postscript",
    "psd": "image/vnd.adobe.photoshop",
    "zip": "application/zip",
}
RASTER_FORMATS: Final = ("png", "jpg")

_FILE_MAGIC: Final[tuple[tuple[bytes, str], ...]] = (
    (b"\x89PNG", "png"),
    (b"\xff\xd8", "jpg"),
    (b"%PDF-", "pdf"),
    (b"%!PS-Adobe", "eps"),
    (b"\xc5\xd0\xd3\xc6", "eps"),  # the binary (DOS) EPS header
    (b"8BPS", "psd"),
    (b"PK\x03\x04", "zip"),
)
"""The first bytes of each format a deliverable may have, but SVG (text, found by its tag)."""

BUNDLE_MEMBER: Final = "result"
"""Name (before the extension) of each file inside a several-format ZIP."""

Corners = Literal["all", "top"]


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


def asked_shape(
    picture: Image.Image, requirements: Requirements, *, flatten: bool = True
) -> tuple[Image.Image, tuple[int, int] | None]:
    """``picture`` on the asked colour (when ``flatten``) at the asked pixels, and those pixels.

    A transparent picture is flattened onto a background colour; ``size`` or ``print`` × DPI
    bring it to exact pixels as ``fit`` says. Returns the pixels asked (``None``: any).
    """
    colour = requirements.rgb()
    if flatten and colour is not None and picture.mode == "RGBA":
        picture = on_background(picture, colour)
    wanted = requirements.pixels(picture.size)
    if wanted is not None:
        picture = fit_to_size(picture, wanted, requirements.fit, fill_of(picture, requirements))
    return picture, wanted


def fill_of(picture: Image.Image, requirements: Requirements) -> tuple[int, ...]:
    """What padding bars are filled with: the asked colour, else white (transparent in RGBA)."""
    colour = requirements.rgb()
    fill = (*(colour or COLOURS["white"]), 0 if colour is None else 255)
    return fill if picture.mode == "RGBA" else fill[:3]


def encode(image: Image.Image, requirements: Requirements, fmt: str) -> bytes:
    """``image`` encoded as ``fmt`` (``png`` / ``jpg``) with the asked DPI, quality and file size.

    JPEG: the asked quality (95 when none), lowered step by step until the file fits under
    ``max_kb``; a file below ``min_kb`` is padded with a JPEG comment segment (upload forms that
    demand 20–50 KB only count bytes). PNG: lossless first, then a 256-colour palette when that
    is what fits. When nothing fits, the smallest attempt is returned and
    :func:`check_file_size` fails it. A JPEG of an RGBA picture is flattened on white.
    """
    low, high = requirements.size_range_bytes()
    dpi = requirements.effective_dpi
    if fmt == "png":
        data = _png(image, dpi)
        if high is not None and len(data) > high:
            palette = image.quantize(256, dither=Image.Dither.FLOYDSTEINBERG)
            data = min(data, _png(palette, dpi), key=len)
        return data
    rgb = on_background(image, COLOURS["white"]) if image.mode == "RGBA" else image.convert("RGB")
    top = requirements.quality or DEFAULT_JPEG_QUALITY
    qualities = [top, *(q for q in JPEG_QUALITIES if q < top)] if high is not None else [top]
    for quality in qualities:
        data = _jpeg(rgb, quality, dpi)
        if high is None or len(data) <= high:
            break
    if low is not None and len(data) < low:
        data = pad_jpeg(data, low)
    return data


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


def _png(image: Image.Image, dpi: int | None) -> bytes:
    out = io.BytesIO()
    extra = {} if dpi is None else {"dpi": (dpi, dpi)}
    image.save(out, format="PNG", optimize=True, **extra)
    return out.getvalue()


def _jpeg(image: Image.Image, quality: int, dpi: int | None) -> bytes:
    extra = {} if dpi is None else {"dpi": (dpi, dpi)}
    subsampling = 0 if quality >= 90 else 2
    out = io.BytesIO()
    try:
        image.save(
            out, format="JPEG", quality=quality, subsampling=subsampling, optimize=True, **extra
        )
    except OSError:
        # libjpeg's optimiser needs the whole picture in one buffer ("Suspension not allowed
        # here" for large noisy pictures); the plain encoder streams.
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=quality, subsampling=subsampling, **extra)
    return out.getvalue()


# --- delivering -------------------------------------------------------------------------------
def deliver_raster(
    result: EngineResult,
    picture: Image.Image,
    requirements: Requirements,
    *,
    wanted_size: tuple[int, int] | None,
    corners: Corners = "all",
    default_format: str | None = None,
) -> EngineResult:
    """``result`` replaced by ``picture`` (already at its size) encoded in each asked format.

    ``default_format`` is used when the order names none (PNG for a picture with transparency,
    JPEG otherwise when it is ``None``). Formats a raster cannot be (SVG, PDF, EPS, PSD) fail
    their format check so a designer delivers them. Every file is checked: format, pixels,
    background at the ``corners``, file size, DPI and JPEG quality as asked.
    """
    native = default_format or ("png" if picture.mode == "RGBA" else "jpg")
    parts = [
        raster_part(result, picture, requirements, fmt, wanted_size, corners)
        if fmt in RASTER_FORMATS
        else with_checks(result, format_mismatch(result.extension, fmt))
        for fmt in requirements.formats or (native,)
    ]
    return bundle(parts, result.quality.checks) if len(parts) > 1 else parts[0]


def raster_part(
    result: EngineResult,
    picture: Image.Image,
    requirements: Requirements,
    fmt: str,
    wanted_size: tuple[int, int] | None,
    corners: Corners = "all",
) -> EngineResult:
    """``result`` replaced by ``picture`` encoded as ``fmt`` (png/jpg), with its file's checks.

    The checks are every one the encoded file owes the order: format, exact size, background,
    file size, DPI and JPEG quality, as far as the order asks for them.
    """
    data = encode(picture, requirements, fmt)
    delivered = decoded(data)
    checks = [check_format(data, fmt)]
    if wanted_size is not None:
        checks.append(check_exact_size(delivered.size, wanted_size))
    colour = requirements.rgb()
    if colour is not None:
        checks.append(check_background(delivered, colour, top_only=corners == "top"))
    elif requirements.background == "transparent":
        checks.append(check_transparent(delivered))
    if requirements.min_kb is not None or requirements.max_kb is not None:
        checks.append(check_file_size(len(data), requirements))
    dpi = requirements.effective_dpi
    if dpi is not None:
        checks.append(check_dpi(file_dpi(delivered), dpi))
    if requirements.quality is not None and fmt == "jpg":
        checks.append(check_jpeg_quality(data, requirements))
    return replace(
        result,
        data=data,
        extension=f".{fmt}",
        mime=MIME_TYPES[fmt],
        width=delivered.width,
        height=delivered.height,
        quality=QualityReport((*result.quality.checks, *checks)),
        metadata={**result.metadata, "requirements": requirements.to_json()},
    )


def conform(result: EngineResult, requirements: Requirements) -> EngineResult:
    """A raster engine's result brought to what the order asks, with checks for each ask.

    For the engines that do not read the requirements themselves (cut-out, enhance): a background
    colour flattens a transparent cut-out, ``size`` or ``print`` bring it to exact pixels, and
    the formats, DPI, quality and file-size range decide the encoding. A result that is not a
    raster is returned as it is (its engine applied the requirements).
    """
    if requirements.is_empty or result.extension not in (".png", ".jpg"):
        return result
    picture = decoded(result.data)
    picture = (
        picture.convert("RGBA") if picture.mode in ("RGBA", "LA", "P") else picture.convert("RGB")
    )
    picture, wanted = asked_shape(picture, requirements)
    native = "png" if picture.mode == "RGBA" else result.extension.lstrip(".")
    return deliver_raster(result, picture, requirements, wanted_size=wanted, default_format=native)


def bundle(parts: Sequence[EngineResult], shared: Sequence[QualityCheck] = ()) -> EngineResult:
    """Several deliverables of one order as one ZIP (``result.svg``, ``result.pdf`` …).

    Checks: the ``shared`` ones (the engine's own, measured once) and each part's others under
    ``<format>:<name>``, plus the ZIP read back: every member present, intact and the same bytes.
    The archive's timestamps are fixed so the same result always gives the same bytes (results
    are stored content-addressed).
    """
    buffer = io.BytesIO()
    names = [f"{BUNDLE_MEMBER}{part.extension}" for part in parts]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, part in zip(names, parts, strict=True):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, part.data)
    data = buffer.getvalue()
    checks = list(shared)
    for part in parts:
        prefix = part.extension.lstrip(".")
        checks += [
            replace(check, name=f"{prefix}:{check.name}")
            for check in part.quality.checks
            if check not in shared
        ]
    checks.append(check_bundle(data, {n: p.data for n, p in zip(names, parts, strict=True)}))
    first = parts[0]
    return replace(
        first,
        data=data,
        extension=".zip",
        mime=MIME_TYPES["zip"],
        quality=QualityReport(tuple(checks)),
        metadata={**first.metadata, "files": names},
    )


def with_checks(result: EngineResult, *checks: QualityCheck) -> EngineResult:
    """``result`` with ``checks`` added to its report."""
    return replace(result, quality=QualityReport((*result.quality.checks, *checks)))


# --- checks on the encoded file ---------------------------------------------------------------
def decoded(data: bytes) -> Image.Image:
    """The encoded deliverable decoded again, as the customer's viewer will see it."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return img.copy()


def file_format(data: bytes) -> str:
    """The format of a file by its first bytes (``?`` when unknown)."""
    for magic, kind in _FILE_MAGIC:
        if data.startswith(magic):
            return kind
    head = data[:64].lstrip()
    if head.startswith((b"<svg", b"<?xml")) and b"<svg" in data[:4096]:
        return "svg"
    return "?"


def check_format(data: bytes, wanted: str) -> QualityCheck:
    """The file is the format asked for, by its magic bytes."""
    actual = file_format(data)
    return QualityCheck.holds("format", actual == wanted, f"格式是 {actual}，要求 {wanted}")


def format_mismatch(extension: str, wanted: str) -> QualityCheck:
    """A failed format check: the engine makes ``extension`` and cannot make ``wanted``."""
    return QualityCheck.holds("format", False, f"格式是 {extension.lstrip('.')}，要求 {wanted}")


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


def file_dpi(image: Image.Image) -> float | None:
    """The DPI a decoded file carries (the smaller axis), ``None`` when it carries none."""
    dpi = image.info.get("dpi")
    if not isinstance(dpi, tuple) or len(dpi) != 2:
        return None
    return float(min(dpi))


def check_dpi(actual: float | None, wanted: int) -> QualityCheck:
    """The DPI a file says (``actual``, as read back) is the one asked for.

    Print shops, Photoshop and upload forms read it to size the print.
    """
    passed = actual is not None and abs(actual - wanted) <= DPI_TOLERANCE
    return QualityCheck(
        name="dpi",
        value=actual or 0.0,
        threshold=float(wanted),
        comparison="within",
        passed=passed,
        message="" if passed else f"分辨率是 {actual or 0:g} dpi，要求 {wanted} dpi",
    )


# The IJG reference luminance table (ITU T.81 Annex K), row by row, as Pillow reports tables.
_IJG_LUMINANCE: Final = np.array(
    [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55]
    + [14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62]
    + [18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92]
    + [49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99],
    dtype=np.int64,
)


def jpeg_quality(data: bytes) -> int | None:
    """The IJG quality a JPEG file was saved with, from its luminance table (``None``: no JPEG).

    Encoders scale the reference table by the quality; the closest scaled table names it.
    """
    with Image.open(io.BytesIO(data)) as image:
        tables = getattr(image, "quantization", None)
    if not tables or 0 not in tables:
        return None
    actual = np.asarray(list(tables[0]), dtype=np.int64)
    best, best_error = 0, None
    for quality in range(1, 101):
        scale = 5000 // quality if quality < 50 else 200 - 2 * quality
        table = np.clip((_IJG_LUMINANCE * scale + 50) // 100, 1, 255)
        error = int(np.abs(table - actual).sum())
        if best_error is None or error <= best_error:
            best, best_error = quality, error
    return best


def check_jpeg_quality(data: bytes, requirements: Requirements) -> QualityCheck:
    """A JPEG file has the asked quality; with ``max_kb`` it may be lower, never higher."""
    wanted = requirements.quality or DEFAULT_JPEG_QUALITY
    actual = jpeg_quality(data) or 0
    capped = requirements.max_kb is not None
    passed = (actual <= wanted) if capped else abs(actual - wanted) <= 1
    return QualityCheck(
        name="jpeg_quality",
        value=float(actual),
        threshold=float(wanted),
        comparison="<=" if capped else "within",
        passed=passed and actual > 0,
        message="" if passed and actual > 0 else f"JPEG 质量是 {actual}，要求 {wanted}",
    )


def corner_distance(
    image: Image.Image, colour: tuple[int, int, int], share: float = 0.06, *, top_only: bool = False
) -> float:
    """Largest mean RGB distance from ``colour`` among the corner patches (or the top two)."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    return max(
        float(np.linalg.norm(p.reshape(-1, 3).mean(axis=0) - np.asarray(colour, np.float32)))
        for p in _corner_patches(rgb, share, top_only)
    )


def _corner_patches(array: np.ndarray, share: float, top_only: bool) -> list[np.ndarray]:
    height, width = array.shape[:2]
    ph, pw = max(1, round(height * share)), max(1, round(width * share))
    patches = [array[:ph, :pw], array[:ph, -pw:]]
    if not top_only:
        patches += [array[-ph:, :pw], array[-ph:, -pw:]]
    return patches


def check_background(
    image: Image.Image, colour: tuple[int, int, int], *, top_only: bool = False
) -> QualityCheck:
    """The corners of the result (or its top two) are the background colour asked for."""
    distance = corner_distance(image, colour, 0.08 if top_only else 0.06, top_only=top_only)
    return background_check(distance, f"{'上方两角' if top_only else '四角'}不是要求的底色")


def background_check(distance: float, failure: str) -> QualityCheck:
    """The ``background_colour`` check for a measured RGB ``distance`` from the asked colour."""
    return QualityCheck.at_most(
        "background_colour",
        distance,
        CORNER_TOLERANCE,
        failure,
    )


def check_transparent(image: Image.Image) -> QualityCheck:
    """A result asked to have a transparent background has transparent corners."""
    if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
        alpha = 255.0
    else:
        array = np.asarray(image.convert("RGBA"))[:, :, 3].astype(np.float32)
        alpha = max(float(p.mean()) for p in _corner_patches(array, 0.06, False))
    return QualityCheck.at_most(
        "background_transparent",
        alpha,
        TRANSPARENT_CORNER_MAX_ALPHA,
        "四角不是透明的（JPG 不能透明，透明底要 PNG）",
    )


def check_bundle(data: bytes, members: dict[str, bytes]) -> QualityCheck:
    """The ZIP reads back with every member, intact (CRC) and byte for byte what was put in."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            broken = archive.testzip()
            names = archive.namelist()
            same = broken is None and all(
                name in names and archive.read(name) == body for name, body in members.items()
            )
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        same, names = False, [str(exc)]
    passed = same and len(names) == len(members)
    return QualityCheck(
        name="bundle_files",
        value=float(len(names)),
        threshold=float(len(members)),
        comparison=">=",
        passed=passed,
        message="" if passed else f"压缩包读回来不对：{names}",
    )
