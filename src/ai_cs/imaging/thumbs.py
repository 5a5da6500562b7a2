"""Small previews of stored pictures for the staff console (缩略图), made once and kept on disk.

A board of 270 cards must not send 270 full-size customer pictures, so the console shows a
preview of at most :data:`SIZES` pixels on the long side. A preview is made from a **stored**
file only (:func:`ai_cs.datafiles.stored_file`: a storage key inside the data directory) —
never from a customer's URL — and cached under ``<data_dir>/thumbs/<size>/<storage key>.webp``.
Stored files are content-addressed, so a cached preview never goes stale and needs no clean-up
beyond deleting the folder. Files Pillow cannot draw (SVG, PDF, EPS, ZIP) have no preview.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Final

from PIL import Image, ImageOps, UnidentifiedImageError

from ai_cs import datafiles
from ai_cs.imaging.limits import MAX_PIXELS, decode_slot

SIZES: Final = (160, 480)
"""Allowed preview sizes: cards and chat bubbles (160), the task page (480)."""
DRAWABLE: Final = frozenset({".png", ".jpg", ".jpeg", ".webp", ".psd"})
"""Stored file types Pillow can turn into a preview."""
CACHE_DIR: Final = "thumbs"
DECODE_SLOTS: Final = 2


def can_preview(reference: str | None) -> bool:
    """Whether a stored reference names a file type that has previews."""
    key = datafiles.key_of(reference)
    return key is not None and Path(key).suffix.lower() in DRAWABLE


def cached_path(data_dir: Path, key: str, size: int) -> Path:
    """Where the preview of ``key`` at ``size`` is kept."""
    return data_dir / CACHE_DIR / str(size) / f"{key}.webp"


def preview(data_dir: Path, reference: str | None, size: int) -> Path | None:
    """The preview file of a stored picture, made on first use; None when there can be none.

    None for a size not in :data:`SIZES`, a reference that is not a stored file, a type with no
    preview, or a file Pillow cannot decode within the picture limits.
    """
    if size not in SIZES or not can_preview(reference):
        return None
    source = datafiles.stored_file(data_dir, reference)
    key = datafiles.key_of(reference)
    if source is None or key is None:
        return None
    target = cached_path(data_dir, key, size)
    if target.is_file():
        return target
    try:
        with decode_slot(DECODE_SLOTS), Image.open(source) as image:
            if image.width * image.height > MAX_PIXELS:
                return None
            image.draft("RGB", (size * 2, size * 2))  # JPEG: decode at a reduced scale
            small = ImageOps.exif_transpose(image)
            small.thumbnail((size, size))
            clear = "A" in small.getbands() or "transparency" in small.info
            small = small.convert("RGBA" if clear else "RGB")
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
            try:
                with os.fdopen(fd, "wb") as out:
                    small.save(out, "WEBP", quality=80)
                os.replace(tmp, target)
            except OSError:
                Path(tmp).unlink(missing_ok=True)
                raise
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return None
    return target
