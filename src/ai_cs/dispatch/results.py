"""Designers' results: what is accepted for each operation, and where it is kept.

A designer's file gets the same treatment as an engine's result before it can reach a customer:
it must be a real picture of the kind the operation delivers (recognised by its bytes, never by
its name), decodable within the engines' pixel limit, and an SVG is rebuilt by the SVG sanitizer.
The dispatch service checks on upload, so the designer hears at once; the API on 6060 checks the
same way again when the result arrives, because it may come from another dispatch system. Both
store accepted files through :class:`ai_cs.processing.storage.LocalStorage` (content-addressed).

==========================  =====================================================
operation                   accepted result
==========================  =====================================================
``enhance``                 PNG, JPEG or WebP
``remove_bg``               PNG or WebP with transparency (some pixel not opaque)
``vectorize``               SVG (sanitized; at least one drawing element)
``remove_bg_and_layer``     PSD with at least two layers
==========================  =====================================================
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Final

from PIL import Image, UnidentifiedImageError

from ai_cs.core.operations import OPERATIONS
from ai_cs.core.tasks import Operation, parse_operation
from ai_cs.errors import ImageRejected

MAX_RESULT_BYTES: Final = 64 * 1024 * 1024
"""Largest result file accepted (64 MB): layered PSDs of large pictures run to tens of MB."""

MAX_RESULT_PIXELS: Final = 100_000_000
"""Largest canvas accepted (100 MP); beyond that decoding alone needs gigabytes."""

MIN_PSD_LAYERS: Final = 2
"""A layered delivery has the subject and the background at least."""

SVG_SHAPES: Final = frozenset({"path", "rect", "circle", "ellipse", "line", "polyline", "polygon"})

RASTER_KINDS: Final[dict[str, tuple[str, str]]] = {
    "png": (".png", "image/png"),
    "jpeg": (".jpg", "image/jpeg"),
    "webp": (".webp", "image/webp"),
}
KIND_FILES: Final[dict[str, tuple[str, str]]] = {
    **RASTER_KINDS,
    "svg": (".svg", "image/svg+xml"),
    "psd": (".psd", "image/vnd.adobe.photoshop"),
}
ACCEPTED_KINDS: Final[dict[Operation, frozenset[str]]] = {
    op: spec.result_kinds for op, spec in OPERATIONS.items()
}
_KIND_LABELS: Final = {"png": "PNG", "jpeg": "JPEG", "webp": "WebP", "svg": "SVG", "psd": "PSD"}

# psd-tools reports broken files with whatever the parser tripped over.
_PSD_ERRORS: Final = (
    OSError,
    ValueError,
    EOFError,
    struct.error,
    AssertionError,
    KeyError,
    IndexError,
    TypeError,
)


class ResultRejected(ImageRejected):
    """A designer's result file is not acceptable for the job."""

    code = "result_rejected"


class ResultTooLarge(ResultRejected):
    """The result file is larger than :data:`MAX_RESULT_BYTES`."""

    code = "result_too_large"
    http_status = 413


class WrongResultFormat(ResultRejected):
    """The file is a kind of picture the operation does not deliver."""

    code = "wrong_result_format"


@dataclass(frozen=True, slots=True)
class CheckedResult:
    """A result that passed its checks: the bytes to store (an SVG cleaned) and what they are."""

    data: bytes
    kind: str
    extension: str
    mime: str
    width: int | None
    height: int | None

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of :attr:`data`."""
        return hashlib.sha256(self.data).hexdigest()


def sniff_kind(data: bytes) -> str | None:
    """``png``, ``jpeg``, ``webp``, ``psd`` or ``svg`` from the leading bytes, else ``None``."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"8BPS"):
        return "psd"
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<?xml", b"<svg", b"<!--", b"<!doctype svg")) and b"<svg" in data[:4096]:
        return "svg"
    return None


def check_result(data: bytes, operation: Operation | str) -> CheckedResult:
    """Check a designer's file for ``operation``; raises :class:`ResultRejected` subclasses."""
    op = parse_operation(operation)
    if not data:
        raise ResultRejected("the result file is empty")
    if len(data) > MAX_RESULT_BYTES:
        raise ResultTooLarge(
            f"the result has {len(data)} bytes; at most {MAX_RESULT_BYTES} are accepted"
        )
    kind = sniff_kind(data)
    if kind is None:
        raise ResultRejected("the result is not a PNG, JPEG, WebP, SVG or PSD file")
    accepted = ACCEPTED_KINDS[op]
    if kind not in accepted:
        wanted = " / ".join(sorted(_KIND_LABELS[k] for k in accepted))
        raise WrongResultFormat(
            f"{op.value} delivers {wanted}; the uploaded file is {_KIND_LABELS[kind]}",
            kind=kind,
            operation=op.value,
        )
    if kind == "svg":
        return _check_svg(data)
    if kind == "psd":
        return _check_psd(data)
    return _check_raster(data, kind, need_transparency=op is Operation.REMOVE_BG)


def _check_raster(data: bytes, kind: str, *, need_transparency: bool) -> CheckedResult:
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice that; a result that big is refused.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                if width * height > MAX_RESULT_PIXELS:
                    raise ResultRejected(
                        f"the result is {width}×{height}; at most "
                        f"{MAX_RESULT_PIXELS // 1_000_000} MP is accepted"
                    )
                if (img.format or "").lower() != kind:
                    raise ResultRejected(f"the result claims {kind} but decodes as {img.format}")
                img.load()
                transparent = _has_transparency(img)
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,  # Pillow raises it for some malformed headers
        ValueError,
    ) as exc:
        raise ResultRejected(f"the result cannot be decoded as a picture: {exc}") from exc
    if need_transparency and not transparent:
        raise WrongResultFormat(
            "a cut-out (remove_bg) must have a transparent background; the picture is opaque"
        )
    extension, mime = RASTER_KINDS[kind]
    return CheckedResult(data, kind, extension, mime, width, height)


def _has_transparency(img: Image.Image) -> bool:
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        low, _high = img.getchannel("A").getextrema()
        return bool(low < 255)  # type: ignore[operator]
    return img.mode == "P" and "transparency" in img.info


def _check_svg(data: bytes) -> CheckedResult:
    try:
        from ai_cs.engines.svg_safety import sanitize_svg
    except ImportError as exc:  # pragma: no cover - the sanitizer ships with the engines
        raise WrongResultFormat("SVG results need the SVG sanitizer (not installed)") from exc
    clean = sanitize_svg(data)  # raises UnsafeSvg (an ImageRejected) for hostile input
    root = ET.fromstring(clean)  # our own sanitizer's output: plain, DOCTYPE-free XML
    shapes = sum(1 for el in root.iter() if el.tag.rsplit("}", 1)[-1] in SVG_SHAPES)
    if shapes == 0:
        raise ResultRejected("the SVG has no drawing (no path or shape is left after cleaning)")
    return CheckedResult(clean, "svg", ".svg", "image/svg+xml", None, None)


def _check_psd(data: bytes) -> CheckedResult:
    if len(data) >= 26:
        # Header: signature, version, reserved, channels, then height and width (big-endian).
        height, width = struct.unpack(">II", data[14:22])
        if width * height > MAX_RESULT_PIXELS:
            raise ResultRejected(
                f"the PSD is {width}×{height}; at most {MAX_RESULT_PIXELS // 1_000_000} MP"
            )
    try:
        from psd_tools import PSDImage

        psd = PSDImage.open(io.BytesIO(data))
        layers = sum(1 for layer in psd.descendants() if not layer.is_group())
        width, height = psd.size
    except _PSD_ERRORS as exc:
        raise ResultRejected(f"the PSD cannot be read: {exc}") from exc
    if layers < MIN_PSD_LAYERS:
        raise WrongResultFormat(
            f"a layered delivery needs at least {MIN_PSD_LAYERS} layers; the PSD has {layers}"
        )
    return CheckedResult(data, "psd", ".psd", KIND_FILES["psd"][1], width, height)
