"""Designers' results: what is accepted for each operation, and where it is kept.

A designer's file gets the same treatment as an engine's result before it can reach a customer:
it must be a real file of the kind the order asked for (recognised by its bytes, never by its
name), readable within the engines' pixel limit, and an SVG is rebuilt by the SVG sanitizer.
The dispatch service checks on upload, so the designer hears at once; the API on 6060 checks the
same way again when the result arrives, because it may come from another dispatch system. Both
store accepted files through :class:`ai_cs.processing.storage.LocalStorage` (content-addressed).

What the order asked decides first: the formats in ``requirements.output`` (``format`` and
``extra_formats``, as the chat stores them). One format named: the file must be that format.
Several: a ZIP holding exactly one file of each (as the engines deliver them), every member
checked like a single file of its kind and the archive rebuilt from the checked members (an SVG
inside is sanitized too). None named: what the operation delivers by default:

==========================  =====================================================
operation                   accepted result when the order names no format
==========================  =====================================================
``enhance``                 PNG, JPEG or WebP
``remove_bg``               PNG or WebP with transparency (some pixel not opaque)
``vectorize``               SVG (sanitized; at least one drawing element), PDF
                            (read with pdfium: a page that draws paths and embeds no
                            picture) or EPS (EPSF header, bounding box, fills, no
                            image operator)
``remove_bg_and_layer``     PSD with at least two layers
==========================  =====================================================
"""

from __future__ import annotations

import hashlib
import io
import struct
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Final

from PIL import Image

from ai_cs.core.operations import OPERATIONS
from ai_cs.core.requirements import Requirements
from ai_cs.core.tasks import Operation, parse_operation
from ai_cs.engines.base import pillow_decoding
from ai_cs.errors import ImageRejected, InvalidArgument, ProcessingFailed

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
    "pdf": (".pdf", "application/pdf"),
    "eps": (".eps", "application/postscript"),
    "psd": (".psd", "image/vnd.adobe.photoshop"),
    "zip": (".zip", "application/zip"),
}
ACCEPTED_KINDS: Final[dict[Operation, frozenset[str]]] = {
    op: spec.result_kinds for op, spec in OPERATIONS.items()
}
_KIND_LABELS: Final = {
    "png": "PNG",
    "jpeg": "JPEG",
    "webp": "WebP",
    "svg": "SVG",
    "pdf": "PDF",
    "eps": "EPS",
    "psd": "PSD",
    "zip": "ZIP",
}
FORMAT_KINDS: Final = {
    "png": "png",
    "jpg": "jpeg",
    "svg": "svg",
    "pdf": "pdf",
    "eps": "eps",
    "psd": "psd",
}
"""A format the order names (``requirements.output.format``) → the file kind it is."""

MAX_ZIP_MEMBERS: Final = 8
"""A several-format order has one file per format: a handful, never hundreds."""

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


class ResultRejected(ImageRejected, code="result_rejected"):
    """A designer's result file is not acceptable for the job."""


class ResultTooLarge(ResultRejected, code="result_too_large", http_status=413):
    """The result file is larger than :data:`MAX_RESULT_BYTES`."""


class WrongResultFormat(ResultRejected, code="wrong_result_format"):
    """The file is a kind of picture the operation does not deliver."""


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


MAGIC_KINDS: Final = (
    (b"%PDF-", "pdf"),
    (b"PK\x03\x04", "zip"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"8BPS", "psd"),
)
"""Leading bytes that alone say a file's kind (no two of them start alike)."""


def sniff_kind(data: bytes) -> str | None:
    """The file's kind from its leading bytes (``png`` … ``zip``), else ``None``."""
    for magic, kind in MAGIC_KINDS:
        if data.startswith(magic):
            return kind
    if data.startswith(b"%!PS-Adobe-") and b"EPSF" in data[:256].splitlines()[0]:
        return "eps"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<?xml", b"<svg", b"<!--", b"<!doctype svg")) and b"<svg" in data[:4096]:
        return "svg"
    return None


def asked_kinds(requirements: object) -> tuple[str, ...]:
    """The file kinds the order named (``requirements.output``), main first; ``()`` if none."""
    if not isinstance(requirements, Mapping):
        return ()
    formats = Requirements.from_task(requirements).formats
    return tuple(dict.fromkeys(FORMAT_KINDS[f] for f in formats if f in FORMAT_KINDS))


def deliverable_label(operation: str, requirements: object) -> str:
    """What a designer must upload, in their words: ``PDF``, ``SVG + PDF（打包成一个 ZIP）``."""
    asked = asked_kinds(requirements)
    if len(asked) > 1:
        return " + ".join(_KIND_LABELS[k] for k in asked) + "（打包成一个 ZIP，每种一个文件）"
    if asked:
        return _KIND_LABELS[asked[0]]
    try:
        kinds = ACCEPTED_KINDS[parse_operation(operation)]
    except InvalidArgument:
        return ""
    return _labels(kinds)


def _labels(kinds: tuple[str, ...] | frozenset[str]) -> str:
    return " / ".join(
        _KIND_LABELS[k] for k in (sorted(kinds) if isinstance(kinds, frozenset) else kinds)
    )


def check_result(
    data: bytes, operation: Operation | str, requirements: object = None
) -> CheckedResult:
    """Check a designer's file for ``operation`` and what the order asked.

    ``requirements`` is the task's (holding ``output``); raises :class:`ResultRejected`
    subclasses.
    """
    op = parse_operation(operation)
    if not data:
        raise ResultRejected("the result file is empty")
    if len(data) > MAX_RESULT_BYTES:
        raise ResultTooLarge(
            f"the result has {len(data)} bytes; at most {MAX_RESULT_BYTES} are accepted"
        )
    kind = sniff_kind(data)
    if kind is None:
        raise ResultRejected("the result is not a PNG, JPEG, WebP, SVG, PDF, EPS, PSD or ZIP file")
    asked = asked_kinds(requirements)
    accepted = frozenset({"zip"} if len(asked) > 1 else asked) or ACCEPTED_KINDS[op]
    if kind not in accepted:
        if asked:
            wanted = f"the order asked for {_labels(asked)}" + (
                " in one ZIP" if len(asked) > 1 else ""
            )
        else:
            wanted = f"{op.value} delivers {_labels(accepted)}"
        raise WrongResultFormat(
            f"{wanted}; the uploaded file is {_KIND_LABELS[kind]}",
            kind=kind,
            operation=op.value,
        )
    if kind == "zip":
        return _check_zip(data, op, asked)
    return _check_single(data, kind, op)


def _check_single(data: bytes, kind: str, op: Operation) -> CheckedResult:
    if kind == "svg":
        return _check_svg(data)
    if kind == "psd":
        return _check_psd(data)
    if kind == "pdf":
        return _check_pdf(data)
    if kind == "eps":
        return _check_eps(data)
    return _check_raster(data, kind, need_transparency=op is Operation.REMOVE_BG)


def _check_zip(data: bytes, op: Operation, asked: tuple[str, ...]) -> CheckedResult:
    """One file per asked format, each checked as that file alone; rebuilt from the checked."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = [info for info in archive.infolist() if not info.is_dir()]
            if len(infos) > MAX_ZIP_MEMBERS:
                raise ResultRejected(
                    f"the ZIP holds {len(infos)} files; one per asked format is expected"
                )
            if sum(info.file_size for info in infos) > MAX_RESULT_BYTES:
                raise ResultTooLarge("the ZIP unpacks to more than the largest accepted result")
            members: list[tuple[str, CheckedResult]] = []
            for info in infos:
                path = PurePosixPath(info.filename)
                if path.is_absolute() or ".." in path.parts or "\\" in info.filename:
                    raise ResultRejected(f"the ZIP holds an unsafe path {info.filename!r}")
                body = archive.read(info)  # CRC-checked; never more than the declared size
                kind = sniff_kind(body)
                if kind is None or kind == "zip":
                    raise ResultRejected(f"{info.filename!r} in the ZIP is not a deliverable file")
                members.append((info.filename, _check_single(body, kind, op)))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise ResultRejected(f"the ZIP cannot be read: {exc}") from exc
    kinds = [checked.kind for _, checked in members]
    if sorted(kinds) != sorted(asked):
        raise WrongResultFormat(
            f"the order asked for {_labels(asked)} in one ZIP; the ZIP holds "
            f"{_labels(tuple(kinds)) or 'nothing'}",
            kind="zip",
            operation=op.value,
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as rebuilt:
        for name, checked in members:
            rebuilt.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), checked.data)
    return CheckedResult(buffer.getvalue(), "zip", *KIND_FILES["zip"], None, None)


def _check_pdf(data: bytes) -> CheckedResult:
    from ai_cs.engines.vector_output import read_pdf

    try:
        facts = read_pdf(data)
    except ProcessingFailed as exc:
        raise ResultRejected(f"the PDF cannot be read: {exc.message}") from exc
    if facts.paths == 0 or facts.images:
        raise WrongResultFormat(
            f"a vector PDF draws paths and embeds no picture; this one has {facts.paths} "
            f"paths and {facts.images} pictures"
        )
    return CheckedResult(data, "pdf", *KIND_FILES["pdf"], None, None)


def _check_eps(data: bytes) -> CheckedResult:
    from ai_cs.engines.vector_output import read_eps

    facts = read_eps(data)
    if not (facts.header and facts.balanced) or min(facts.size_pt) <= 0:
        raise ResultRejected("the EPS has no EPSF header, bounding box or balanced structure")
    if facts.fills == 0 or facts.images:
        raise WrongResultFormat(
            f"a vector EPS fills paths and draws no picture; this one has {facts.fills} fills "
            f"and {facts.images} pictures"
        )
    return CheckedResult(data, "eps", *KIND_FILES["eps"], None, None)


def _check_raster(data: bytes, kind: str, *, need_transparency: bool) -> CheckedResult:
    with pillow_decoding(ResultRejected, "the result"), Image.open(io.BytesIO(data)) as img:
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
