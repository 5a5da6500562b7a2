"""Safe picture intake (收图): bytes, a local path or a URL in; a clean stored copy out.

Rules, each refusal an :class:`~ai_cs.errors.ImageRejected` subclass with a stable ``code``:

* At most :data:`MAX_BYTES` (20 MB) and :data:`MAX_PIXELS` (40 MP); a 0-byte file is refused.
  The decoded pixels must fit :data:`~ai_cs.imaging.limits.MAX_DECODE_BYTES` (width × height ×
  bytes per pixel as decoded, plus the RGB copy), and no side may be more than
  :data:`~ai_cs.imaging.limits.MAX_ASPECT` times the other.
* Only JPEG, PNG, WebP and BMP, recognised by their magic bytes, never by the file name.
  EPS/PS, PDF, SVG, GIF, TIFF, text and anything else are refused.
* The dimensions are read from the file header by this module *before* Pillow decodes anything,
  so a decompression bomb (a small file that claims a huge canvas) is refused without
  allocating its pixels. Pillow's own bomb check stays on as a second line.
* The picture is decoded completely (``load()``), with ``ImageFile.LOAD_TRUNCATED_IMAGES`` left
  False, so a truncated file is refused instead of being padded with grey. At most
  ``settings.decode_slots`` pictures per process are held at full size at once (decode, clean,
  encode); the full-size pixels are dropped once stored, and only a copy reduced for analysis
  (:meth:`StoredImage.analysis_image`) is kept.
* What is stored is re-encoded from pixels: EXIF orientation applied, colours converted to sRGB
  when an ICC profile is present, and all metadata (EXIF, GPS, XMP, ICC, comments) dropped.
  Encoding rule: **PNG** when the picture has real transparency or came from a lossless format
  (PNG, BMP, lossless WebP), because a lossless original must stay lossless; **JPEG quality 95
  with 4:4:4 chroma** otherwise, because the original was already lossy and PNG would make a
  photo five to ten times larger for no visible gain.
* Stored content-addressed under the storage key ``images/<sha256[:2]>/<sha256>.<ext>``
  (:mod:`ai_cs.datafiles`), where the hash is that of the stored bytes, so the same picture is
  stored once.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import threading
import warnings
import zlib
from pathlib import Path
from typing import Final, cast

import numpy as np
from PIL import Image, ImageCms, ImageFile, ImageOps
from pydantic import BaseModel, PrivateAttr

from ai_cs import datafiles
from ai_cs.config import Settings
from ai_cs.imaging.errors import (  # noqa: F401 (intake's errors, re-exported for callers)
    CorruptImage,
    DecodeTooCostly,
    DecompressionBomb,
    EmptyFile,
    ExtremeAspectRatio,
    FetchFailed,
    FileNotFound,
    ImageTooLarge,
    TooManyPixels,
    TruncatedImage,
    UnsupportedFormat,
    UrlNotAllowed,
)
from ai_cs.imaging.limits import (
    MAX_ASPECT,
    MAX_BYTES,
    MAX_DECODE_BYTES,
    MAX_PIXELS,
    RGB_BYTES_PER_PIXEL,
    analysis_factor,
    decode_bytes,
    decode_slot,
)

BOMB_PIXELS_PER_BYTE: Final = 100
"""A too-large canvas with more pixels per file byte than this is reported as a bomb: real
photos carry a few pixels per byte, a crafted bomb thousands."""
JPEG_QUALITY: Final = 95

_URL_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*:")
_DECODE_LOCK = threading.Lock()


# --- errors ------------------------------------------------------------------------------------
class StoredImage(BaseModel):
    """An accepted picture as stored (``IntakeResult``)."""

    key: str  # the storage key (``images/ab/<sha256>.jpg``): what the database keeps
    path: Path  # the same file, absolute, for this process
    sha256: str
    width: int
    height: int
    format: str  # "png" or "jpeg": the stored encoding
    mime: str
    source_format: str  # JPEG / PNG / WEBP / BMP as sniffed from the original
    original_bytes: int
    original_sha256: str
    has_alpha: bool
    source: str = ""  # the URL, the path, or "bytes"

    _analysis: Image.Image | None = PrivateAttr(default=None)

    def image(self) -> Image.Image:
        """The stored pixels at full size (RGB or RGBA), decoded from the stored file each call."""
        with Image.open(self.path) as img:
            img.load()
            return img.copy() if img.mode in ("RGB", "RGBA") else img.convert("RGB")

    def analysis_image(self) -> Image.Image:
        """The pixels reduced for analysis (long side below twice ``ANALYSIS_SIDE``), kept."""
        if self._analysis is None:
            self._analysis = open_for_analysis(self.path)
        return self._analysis


IntakeResult = StoredImage


# --- sniffing ------------------------------------------------------------------------------------
_ACCEPTED_MAGIC: Final[tuple[tuple[re.Pattern[bytes], str], ...]] = (
    (re.compile(rb"\xff\xd8\xff"), "JPEG"),
    (re.compile(rb"\x89PNG\r\n\x1a\n"), "PNG"),
    (re.compile(rb"RIFF.{4}WEBP", re.DOTALL), "WEBP"),
    (re.compile(rb"BM.{24}", re.DOTALL), "BMP"),  # at least its file and smallest info header
)
"""How each accepted format's file begins."""

_REFUSED_MAGIC: Final[tuple[tuple[bytes, str], ...]] = (
    (b"%!PS", "PostScript/EPS"),
    (b"\xc5\xd0\xd3\xc6", "EPS"),
    (b"%PDF", "PDF"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "PSD"),
    (b"PK\x03\x04", "ZIP"),
)


def sniff_format(data: bytes) -> str:
    """``JPEG``, ``PNG``, ``WEBP`` or ``BMP`` by magic bytes, else :class:`UnsupportedFormat`."""
    for pattern, name in _ACCEPTED_MAGIC:
        if pattern.match(data):
            return name
    for magic, name in _REFUSED_MAGIC:
        if data.startswith(magic):
            raise UnsupportedFormat(f"{name} files are not accepted; send JPEG, PNG, WebP or BMP")
    head = data[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml", b"<!doctype svg")) or b"<svg" in head:
        raise UnsupportedFormat("SVG files are not accepted; send JPEG, PNG, WebP or BMP")
    raise UnsupportedFormat("not a JPEG, PNG, WebP or BMP picture")


# Each reader returns width, height and the bytes per pixel Pillow will hold once decoded
# (single-band modes 1 byte, 16-bit grey 2, everything with several bands 4).
def _png_size(data: bytes) -> tuple[int, int, int]:
    if len(data) < 26:
        raise TruncatedImage("PNG file ends inside its header")
    if data[12:16] != b"IHDR":
        raise CorruptImage("PNG file has no IHDR header")
    width, height = struct.unpack(">II", data[16:24])
    depth, colour = data[24], data[25]
    if colour in (0, 3):  # grey or palette
        bpp = 2 if depth == 16 else 1
    else:
        bpp = RGB_BYTES_PER_PIXEL
    return int(width), int(height), bpp


def _bmp_size(data: bytes) -> tuple[int, int, int]:
    header_size = struct.unpack("<I", data[14:18])[0]
    if header_size == 12:
        width, height = struct.unpack("<HH", data[18:22])
        bits = struct.unpack("<H", data[24:26])[0]
    else:
        width, height = struct.unpack("<ii", data[18:26])
        bits = struct.unpack("<H", data[28:30])[0]
    bpp = 1 if bits <= 8 else RGB_BYTES_PER_PIXEL
    return abs(int(width)), abs(int(height)), bpp


def _webp_size(data: bytes) -> tuple[int, int, int]:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height, RGB_BYTES_PER_PIXEL
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return int(width) & 0x3FFF, int(height) & 0x3FFF, RGB_BYTES_PER_PIXEL
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF), RGB_BYTES_PER_PIXEL
    raise CorruptImage("WebP file has no readable frame header")


_JPEG_SOF: Final = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int, int]:
    # Walk the marker segments up to the start of scan; take the largest frame header, because a
    # decoder may honour any of them.
    pos, size, best = 2, len(data), (0, 0, 0)
    while pos + 4 <= size:
        if data[pos] != 0xFF:
            raise CorruptImage("JPEG marker structure is broken")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # stand-alone markers
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan
            break
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if length < 2:
            raise CorruptImage("JPEG segment length is invalid")
        if marker in _JPEG_SOF and pos + 10 <= size:
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            bpp = 1 if data[pos + 9] == 1 else RGB_BYTES_PER_PIXEL
            best = max(best, (int(width), int(height), bpp), key=lambda f: f[0] * f[1] * f[2])
        pos += 2 + length
    if best[:2] == (0, 0):
        raise TruncatedImage("JPEG file ends before its frame header")
    return best


def header_info(data: bytes, fmt: str) -> tuple[int, int, int]:
    """Width, height and decoded bytes per pixel read from the header, without decoding."""
    readers = {"PNG": _png_size, "BMP": _bmp_size, "WEBP": _webp_size, "JPEG": _jpeg_size}
    try:
        return readers[fmt](data)
    except (struct.error, IndexError) as exc:
        raise TruncatedImage(f"{fmt} header is cut short") from exc


def header_size(data: bytes, fmt: str) -> tuple[int, int]:
    """Width and height read from the header, without decoding pixels."""
    width, height, _bpp = header_info(data, fmt)
    return width, height


def check_canvas(
    width: int, height: int, nbytes: int, bytes_per_pixel: int = RGB_BYTES_PER_PIXEL
) -> None:
    """Refuse empty canvases, strips, canvases over the pixel or memory budget, and bombs."""
    if width <= 0 or height <= 0:
        raise CorruptImage(f"picture claims an empty canvas {width}x{height}")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise ExtremeAspectRatio(
            f"{width}x{height} is a strip, not a picture: one side may be at most "
            f"{MAX_ASPECT:.0f} times the other"
        )
    pixels = width * height
    if pixels > MAX_PIXELS:
        if pixels > BOMB_PIXELS_PER_BYTE * max(nbytes, 1):
            raise DecompressionBomb(
                f"{width}x{height} canvas from a {nbytes}-byte file looks like a decompression bomb"
            )
        raise TooManyPixels(
            f"{width}x{height} is {pixels / 1e6:.1f} MP; at most {MAX_PIXELS / 1e6:.0f} MP"
        )
    cost = decode_bytes(width, height, bytes_per_pixel)
    if cost > MAX_DECODE_BYTES:
        raise DecodeTooCostly(
            f"{width}x{height} at {bytes_per_pixel} bytes a pixel needs {cost / 2**20:.0f} MB "
            f"to decode; at most {MAX_DECODE_BYTES / 2**20:.0f} MB"
        )


# --- decoding and re-encoding -------------------------------------------------------------------
_DECODE_ERRORS: Final = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error)
_EXIF_ERRORS: Final = (*_DECODE_ERRORS, Warning, KeyError, IndexError, TypeError)


def _decode(data: bytes, fmt: str) -> tuple[Image.Image, bool]:
    """Fully decoded RGB/RGBA pixels and whether alpha is used; warnings become refusals."""
    # catch_warnings swaps the process-wide filter list; the lock keeps two intakes from
    # restoring each other's filters.
    with _DECODE_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            img = Image.open(io.BytesIO(data), formats=[fmt])
            # Camera JPEGs with a second view (MPO) open as MPO; the first frame is a JPEG.
            if img.format != fmt and not (fmt == "JPEG" and img.format == "MPO"):
                raise UnsupportedFormat(f"file looks like {fmt} but decodes as {img.format}")
            check_canvas(img.width, img.height, len(data), _mode_bytes(img.mode))
            img.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise DecompressionBomb(f"decompression bomb: {exc}") from exc
        except Warning as exc:
            raise CorruptImage(f"{fmt} file is malformed: {exc}") from exc
        except _DECODE_ERRORS as exc:
            if "truncated" in str(exc).lower() or isinstance(exc, EOFError):
                raise TruncatedImage(f"{fmt} file is truncated") from exc
            raise CorruptImage(f"{fmt} file does not decode: {exc}") from exc
        try:
            ImageOps.exif_transpose(img, in_place=True)
        except _EXIF_ERRORS:
            pass  # broken EXIF: keep the pixels as they are rather than refuse the picture
        try:
            return _normalise(img)
        except (*_DECODE_ERRORS, Warning) as exc:
            raise CorruptImage(f"{fmt} pixels cannot be converted: {exc}") from exc


def _mode_bytes(mode: str) -> int:
    """Bytes per pixel Pillow holds for ``mode`` (several bands are always 4)."""
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return RGB_BYTES_PER_PIXEL


def _to_srgb(img: Image.Image) -> Image.Image:
    icc = img.info.get("icc_profile")
    if not icc or img.mode not in ("RGB", "RGBA"):
        return img
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        dst = ImageCms.createProfile("sRGB")
        # In place: a second full-size copy would double the picture's memory.
        ImageCms.profileToProfile(img, src, dst, outputMode=img.mode, inPlace=True)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return img  # an unusable profile: keep the numbers as they are
    return img


def _normalise(img: Image.Image) -> tuple[Image.Image, bool]:
    """RGB or RGBA pixels; alpha kept only when some pixel is not fully opaque.

    Each step converts only when the mode differs, so an RGB picture is never copied.
    """
    has_alpha = img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info
    if img.mode.startswith("I") or img.mode == "F":
        # Deep greyscale (16-bit PNG): scale to 8 bits instead of letting convert() clip; in
        # place on one integer array (a float64 copy would take 8 bytes a pixel).
        deep = np.array(img, dtype=np.int32 if img.mode != "F" else np.float32)
        if deep.max(initial=0) > 255:
            np.floor_divide(deep, 257, out=deep)
        np.clip(deep, 0, 255, out=deep)
        img = Image.fromarray(deep.astype(np.uint8))
        del deep
    wanted = "RGBA" if has_alpha else "RGB"
    if img.mode != wanted:
        img = img.convert(wanted)
    img = _to_srgb(img)
    if has_alpha:
        # Extrema of every band at once: getchannel("A") would copy the alpha plane first.
        bands = cast("tuple[tuple[int, int], ...]", img.getextrema())
        if bands[3][0] == 255:
            return img.convert("RGB"), False
    return img, has_alpha


def _is_lossless(data: bytes, fmt: str) -> bool:
    if fmt in ("PNG", "BMP"):
        return True
    if fmt == "WEBP":
        return b"VP8L" in data[12:4096] and b"VP8 " not in data[12:4096]
    return False


def _encode(img: Image.Image, as_png: bool) -> bytes:
    out = io.BytesIO()
    if as_png:
        img.save(out, format="PNG", compress_level=6)
    else:
        img.save(out, format="JPEG", quality=JPEG_QUALITY, subsampling=0, optimize=True)
    return out.getvalue()


def _reduce(img: Image.Image) -> Image.Image:
    """``img`` box-reduced by :func:`analysis_factor` (the same image when it is small)."""
    factor = analysis_factor(img.width, img.height)
    return img.reduce(factor) if factor > 1 else img


def open_for_analysis(path: Path) -> Image.Image:
    """A stored picture decoded at reduced size for analysis.

    JPEG files are decoded at a fraction of their size by the decoder itself (draft mode: the
    DCT is scaled, the full-size pixels never exist); PNG is decoded and then reduced.
    """
    with Image.open(path) as img:
        factor = analysis_factor(img.width, img.height)
        if factor > 1 and img.format == "JPEG":
            img.draft("RGB", (img.width // factor, img.height // factor))
        img.load()
        reduced = _reduce(img)
        if reduced is img:
            reduced = img.copy()
    return reduced if reduced.mode in ("RGB", "RGBA") else reduced.convert("RGB")


# --- entry points -------------------------------------------------------------------------------
def is_url(source: str) -> bool:
    """Whether ``source`` is written as a URL (``scheme:...``) rather than a local path."""
    return bool(_URL_RE.match(source)) and not re.match(r"^[a-zA-Z]:[\\/]", source)


def read_local(path: Path, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of a local file, refusing missing, special, empty and oversized files unread."""
    try:
        info = path.stat()
    except (OSError, ValueError) as exc:
        raise FileNotFound(f"no such file: {str(path)!r}") from exc
    if not path.is_file():
        raise FileNotFound(f"not a regular file: {str(path)!r}")
    if info.st_size == 0:
        raise EmptyFile(f"file {path.name!r} is empty")
    if info.st_size > max_bytes:
        raise ImageTooLarge(
            f"file {path.name!r} has {info.st_size} bytes; at most {max_bytes} are accepted"
        )
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise FileNotFound(f"cannot read {str(path)!r}: {exc.strerror}") from exc
    if len(data) > max_bytes:
        raise ImageTooLarge(f"file {path.name!r} has more than {max_bytes} bytes")
    return data


def load_source(source: str | bytes | Path, settings: Settings) -> tuple[bytes, str]:
    """The raw bytes behind ``source`` and a description of where they came from."""
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), "bytes"
    if isinstance(source, str) and is_url(source.strip()):
        from ai_cs.imaging.fetch import fetch_image  # fetch needs the network stack; lazily

        fetched = fetch_image(source.strip(), settings)
        return fetched.data, fetched.url
    path = Path(source)
    return read_local(path), str(path)


def accept_bytes(data: bytes, settings: Settings, *, source: str = "bytes") -> StoredImage:
    """Check, decode, clean and store one picture given as bytes."""
    if not data:
        raise EmptyFile("the picture is empty (0 bytes)")
    if len(data) > MAX_BYTES:
        raise ImageTooLarge(f"picture has {len(data)} bytes; at most {MAX_BYTES} are accepted")
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Someone in the process switched Pillow to pad truncated files; we must not accept them.
        raise CorruptImage("refusing to decode while LOAD_TRUNCATED_IMAGES is enabled")
    fmt = sniff_format(data)
    width, height, bytes_per_pixel = header_info(data, fmt)
    check_canvas(width, height, len(data), bytes_per_pixel)
    with decode_slot(settings.decode_slots):
        img, has_alpha = _decode(data, fmt)
        as_png = has_alpha or _is_lossless(data, fmt)
        encoded = _encode(img, as_png)
        width, height = img.size
        analysis = _reduce(img)
        del img  # the full-size pixels go before the slot is given back
    ext, mime = ("png", "image/png") if as_png else ("jpg", "image/jpeg")
    key = datafiles.put(settings.data_dir, "images", encoded, ext)
    stored = StoredImage(
        key=key,
        path=datafiles.path_of(settings.data_dir, key),
        sha256=hashlib.sha256(encoded).hexdigest(),
        width=width,
        height=height,
        format="png" if as_png else "jpeg",
        mime=mime,
        source_format=fmt,
        original_bytes=len(data),
        original_sha256=hashlib.sha256(data).hexdigest(),
        has_alpha=has_alpha,
        source=source,
    )
    stored._analysis = analysis
    return stored


def intake(source: str | bytes | Path, settings: Settings) -> StoredImage:
    """Take in a picture from bytes, a local path or an http(s) URL; refuse anything unsafe."""
    data, origin = load_source(source, settings)
    return accept_bytes(data, settings, source=origin)
