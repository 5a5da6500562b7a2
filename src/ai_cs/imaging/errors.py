"""Why a picture is refused (收图): every refusal an :class:`~ai_cs.errors.ImageRejected`.

Shared by intake (files and bytes) and the URL fetcher, each with its stable ``code``.
"""

from __future__ import annotations

from ai_cs.errors import ImageRejected


class ImageTooLarge(ImageRejected):
    """More bytes than :data:`MAX_BYTES`."""

    code = "image_too_large"


class EmptyFile(ImageRejected):
    """Zero bytes."""

    code = "empty_file"


class FileNotFound(ImageRejected):
    """The local path does not name a readable regular file."""

    code = "file_not_found"


class UnsupportedFormat(ImageRejected):
    """Not one of JPEG, PNG, WebP, BMP (by magic bytes)."""

    code = "unsupported_format"


class TooManyPixels(ImageRejected):
    """A canvas larger than :data:`MAX_PIXELS`."""

    code = "too_many_pixels"


class DecompressionBomb(TooManyPixels):
    """A small file that decodes to an enormous canvas."""

    code = "decompression_bomb"


class DecodeTooCostly(TooManyPixels):
    """A canvas whose decoded pixels would not fit the memory budget (:data:`MAX_DECODE_BYTES`)."""

    code = "decode_too_costly"


class ExtremeAspectRatio(ImageRejected):
    """A strip far longer than wide (beyond :data:`MAX_ASPECT`)."""

    code = "extreme_aspect_ratio"


class TruncatedImage(ImageRejected):
    """The file ends before the picture does."""

    code = "truncated_image"


class CorruptImage(ImageRejected):
    """The file claims a supported format but does not decode."""

    code = "corrupt_image"


class UrlNotAllowed(ImageRejected):
    """The URL's scheme or address is not allowed (non-public, not http/https, malformed)."""

    code = "url_not_allowed"


class FetchFailed(ImageRejected):
    """Downloading the picture failed (connection, status, content type, redirects)."""

    code = "fetch_failed"


# --- result ------------------------------------------------------------------------------------
