"""Why a picture is refused (收图): every refusal an :class:`~ai_cs.errors.ImageRejected`.

Shared by intake (files and bytes) and the URL fetcher, each with its stable ``code``.
"""

from __future__ import annotations

from ai_cs.errors import ImageRejected


class ImageTooLarge(ImageRejected, code="image_too_large"):
    """More bytes than :data:`MAX_BYTES`."""


class EmptyFile(ImageRejected, code="empty_file"):
    """Zero bytes."""


class FileNotFound(ImageRejected, code="file_not_found"):
    """The local path does not name a readable regular file."""


class UnsupportedFormat(ImageRejected, code="unsupported_format"):
    """Not one of JPEG, PNG, WebP, BMP (by magic bytes)."""


class TooManyPixels(ImageRejected, code="too_many_pixels"):
    """A canvas larger than :data:`MAX_PIXELS`."""


class DecompressionBomb(TooManyPixels, code="decompression_bomb"):
    """A small file that decodes to an enormous canvas."""


class DecodeTooCostly(TooManyPixels, code="decode_too_costly"):
    """A canvas whose decoded pixels would not fit the memory budget (:data:`MAX_DECODE_BYTES`)."""


class ExtremeAspectRatio(ImageRejected, code="extreme_aspect_ratio"):
    """A strip far longer than wide (beyond :data:`MAX_ASPECT`)."""


class TruncatedImage(ImageRejected, code="truncated_image"):
    """The file ends before the picture does."""


class CorruptImage(ImageRejected, code="corrupt_image"):
    """The file claims a supported format but does not decode."""


class UrlNotAllowed(ImageRejected, code="url_not_allowed"):
    """The URL's scheme or address is not allowed (non-public, not http/https, malformed)."""


class FetchFailed(ImageRejected, code="fetch_failed"):
    """Downloading the picture failed (connection, status, content type, redirects)."""
