"""The engine interface (处理引擎): what every processing engine takes and gives back.

An engine turns one decoded picture into one deliverable file (PNG cut-out, SVG, layered PSD,
enhanced photo) plus a :class:`QualityReport`. Engines never decide what happens to a failed
result: they report, and :func:`ai_cs.engines.run_engine` (or the job worker) turns a failed
report into :class:`~ai_cs.errors.QualityCheckFailed` so the task goes to a human designer.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, Protocol, runtime_checkable

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ai_cs.core.requirements import Requirements
from ai_cs.core.tasks import Operation
from ai_cs.errors import AicsError, InvalidArgument, ProcessingFailed

ImageInput = Image.Image | np.ndarray
"""What :meth:`Engine.process` accepts: a Pillow image or an RGB/RGBA/gray ``uint8`` array."""

ImageSource = bytes | bytearray | memoryview | str | Path | Image.Image | np.ndarray
"""What :func:`load_image` accepts: encoded bytes, a file path, or an already decoded picture."""

MAX_INPUT_PIXELS: Final = 60_000_000
"""Largest picture an engine accepts (60 MP, e.g. 9000×6700).

Above this a single engine call needs gigabytes of memory (float masks, OpenCV copies), so the
picture is refused before decoding instead of taking the worker down.
"""

Comparison = Literal["<=", ">=", "within"]


class ImageUnreadable(ProcessingFailed, code="image_unreadable"):
    """The picture could not be decoded (not an image, truncated, or too large)."""


class EngineTimeout(ProcessingFailed, code="engine_timeout"):
    """An engine step ran past its time limit and was stopped."""


class EngineNotConfigured(ProcessingFailed, code="engine_not_configured"):
    """An engine needs a file or setting (e.g. a segmentation model path) that is missing."""


class UnknownPreset(InvalidArgument, code="unknown_preset"):
    """A preset name that the engine does not offer."""


@dataclass(frozen=True, slots=True)
class QualityCheck:
    """One measured property of a result and the threshold it had to meet."""

    name: str
    value: float
    threshold: float | tuple[float, float]
    comparison: Comparison
    passed: bool
    message: str = ""
    """Why the check failed, in the shop's words; empty when it passed."""

    @classmethod
    def at_most(cls, name: str, value: float, limit: float, failure: str) -> QualityCheck:
        """The check ``value <= limit``; ``failure`` becomes its message when it fails."""
        passed = value <= limit
        return cls(name, value, limit, "<=", passed, "" if passed else failure)

    @classmethod
    def at_least(cls, name: str, value: float, minimum: float, failure: str) -> QualityCheck:
        """The check ``value >= minimum``; ``failure`` becomes its message when it fails."""
        passed = value >= minimum
        return cls(name, value, minimum, ">=", passed, "" if passed else failure)

    @classmethod
    def holds(cls, name: str, passed: bool, failure: str) -> QualityCheck:
        """A yes/no check, recorded as ``1.0 >= 1.0`` when it holds and ``0.0`` when not."""
        return cls(name, 1.0 if passed else 0.0, 1.0, ">=", passed, "" if passed else failure)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (``threshold`` as a list when it is a range)."""
        threshold: object = (
            list(self.threshold) if isinstance(self.threshold, tuple) else self.threshold
        )
        return {
            "name": self.name,
            "value": round(self.value, 4),
            "threshold": threshold,
            "comparison": self.comparison,
            "passed": self.passed,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class QualityReport:
    """All checks of one result; it passes only when every check passes."""

    checks: tuple[QualityCheck, ...]

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(check.passed for check in self.checks)

    @property
    def reason(self) -> str:
        """One line naming every failed check; empty when the report passed."""
        return "; ".join(
            check.message or f"{check.name} failed" for check in self.checks if not check.passed
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form: ``{"passed", "reason", "checks": [...]}``."""
        return {
            "passed": self.passed,
            "reason": self.reason,
            "checks": [check.to_dict() for check in self.checks],
        }


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """Per-job choices; every field has a default so ``EngineOptions()`` always works."""

    preset: str | None = None
    """Vectorize preset ``logo`` / ``poster`` / ``photo``; ``None`` picks one from the picture."""
    timeout_s: float = 120.0
    """Time limit for steps that can run away (the vectorizer's trace)."""
    output_format: Literal["png", "jpg"] | None = None
    """Enhance output format; ``None`` = PNG when the picture has transparency, else JPEG."""
    requirements: Requirements = field(default_factory=Requirements)
    """What the customer asked the deliverable to be (background, size, file size, format)."""


@dataclass(frozen=True, slots=True)
class EngineResult:
    """One deliverable file and how good it is."""

    operation: Operation
    engine: str
    data: bytes
    extension: str
    """File extension with the dot: ``.png``, ``.jpg``, ``.svg``, ``.psd``."""
    mime: str
    width: int
    height: int
    quality: QualityReport
    elapsed_ms: float = 0.0
    metadata: dict[str, object] = field(default_factory=dict)
    """Engine-specific facts worth logging (preset used, working size, layer names...)."""

    def summary(self) -> dict[str, object]:
        """Everything but the bytes, JSON-ready (for logs, the CLI and the task record)."""
        return {
            "operation": self.operation.value,
            "engine": self.engine,
            "extension": self.extension,
            "mime": self.mime,
            "width": self.width,
            "height": self.height,
            "bytes": len(self.data),
            "elapsed_ms": round(self.elapsed_ms, 1),
            "quality": self.quality.to_dict(),
            "metadata": self.metadata,
        }


@runtime_checkable
class Engine(Protocol):
    """A processing engine for one operation."""

    name: str
    operation: Operation

    def process(self, image: ImageInput, options: EngineOptions) -> EngineResult:
        """Produce the deliverable for ``image``; the report says whether it may ship."""
        ...


PILLOW_DECODE_ERRORS: Final = (
    UnidentifiedImageError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
    OSError,
    SyntaxError,  # Pillow raises it for some malformed headers
    ValueError,
)
"""What Pillow raises for bytes that are not a picture it can decode."""


@contextmanager
def pillow_decoding(error: type[AicsError], subject: str) -> Iterator[None]:
    """Decode ``subject`` with Pillow inside this block; a failure to decode raises ``error``.

    Pillow only *warns* between its own pixel limit and twice that; here the warning is an
    error too, so a decompression bomb is refused like any other undecodable file.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except PILLOW_DECODE_ERRORS as exc:
        raise error(f"{subject} cannot be read as a picture: {exc}") from exc


def load_image(source: ImageSource) -> Image.Image:
    """Decode ``source`` into an upright RGB or RGBA Pillow image.

    EXIF orientation is applied (phone photos are stored sideways), palette and gray pictures
    become RGB, and anything with transparency becomes RGBA. Raises :class:`ImageUnreadable`
    for data that is not a picture or is larger than :data:`MAX_INPUT_PIXELS`.
    """
    if isinstance(source, Image.Image | np.ndarray):
        return to_pil(source)
    if isinstance(source, bytes | bytearray | memoryview):
        stream: io.BytesIO | Path = io.BytesIO(bytes(source))
        label = f"{len(source)} bytes"
    else:
        stream = Path(source)
        label = repr(str(source))
    with pillow_decoding(ImageUnreadable, label), Image.open(stream) as opened:
        width, height = opened.size
        if width * height > MAX_INPUT_PIXELS:
            raise ImageUnreadable(
                f"picture {label} is {width}×{height}; at most "
                f"{MAX_INPUT_PIXELS // 1_000_000} MP is processed",
                width=width,
                height=height,
            )
        opened.load()
        return _normalize_mode(ImageOps.exif_transpose(opened))


def to_pil(image: ImageInput) -> Image.Image:
    """An RGB or RGBA Pillow image from a Pillow image or a ``uint8`` array (RGB order)."""
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            raise InvalidArgument(f"image array must be uint8, got {image.dtype}")
        if image.ndim == 2:
            return Image.fromarray(image).convert("RGB")
        if image.ndim == 3 and image.shape[2] in (3, 4):
            return Image.fromarray(np.ascontiguousarray(image))
        raise InvalidArgument(f"image array must be H×W, H×W×3 or H×W×4, got {image.shape}")
    return _normalize_mode(image)


def _normalize_mode(image: Image.Image) -> Image.Image:
    has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        image.mode == "P" and "transparency" in image.info
    )
    wanted = "RGBA" if has_alpha else "RGB"
    if image.mode == wanted:
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit gray: scale 0..65535 to 0..255 instead of letting convert() clip to white.
        array = np.asarray(image, dtype=np.float64)
        top = float(array.max(initial=0.0))
        divisor = 1.0 if top <= 255 else (257.0 if top <= 65535 else top / 255.0)
        image = Image.fromarray(np.clip(np.round(array / divisor), 0, 255).astype(np.uint8))
    return image.convert(wanted)


def split_alpha(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """``(rgb, alpha)`` arrays of an RGB/RGBA image; ``alpha`` is ``None`` when fully opaque."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 4:
        alpha = array[:, :, 3]
        rgb = np.ascontiguousarray(array[:, :, :3])
        return rgb, (None if int(alpha.min()) == 255 else np.ascontiguousarray(alpha))
    return np.ascontiguousarray(array), None


def resize_to_side(array: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    """``array`` scaled (down only) so its longest side is ``side``; returns it and the scale."""
    import cv2  # here, not at the top: svg_safety users should not pay for OpenCV

    height, width = array.shape[:2]
    scale = min(1.0, side / max(height, width))
    if scale >= 1.0:
        return array, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(array, size, interpolation=cv2.INTER_AREA), scale


def encode_png(array: np.ndarray, compress_level: int = 6) -> bytes:
    """PNG bytes of an RGB/RGBA/gray ``uint8`` array."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def encode_jpeg(array: np.ndarray, quality: int = 92) -> bytes:
    """JPEG bytes of an RGB ``uint8`` array (4:4:4 so thin coloured edges stay crisp)."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=quality, subsampling=0)
    return buffer.getvalue()
