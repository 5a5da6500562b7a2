"""Size and memory limits of customer pictures, shared by intake, analysis and the URL fetcher.

A picture costs what its pixels cost once decoded, not what its file weighs: a 115 KB PNG can
claim a 6000×6600 canvas, a 198-byte PNG a 40000×1 strip. So besides the byte and pixel caps a
picture must fit a decode **memory budget** (width × height × bytes per pixel as Pillow holds
it, plus the RGB copy the shop works on) and an **aspect-ratio** limit, and each process decodes
only a few pictures at full size at once (:func:`decode_slot`). Analysis never needs more than
:data:`ANALYSIS_SIDE` pixels on the long side, so it works on a reduced copy.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

MAX_BYTES: Final = 20 * 1024 * 1024
"""Largest picture accepted, in bytes (also the cap while downloading)."""
MAX_PIXELS: Final = 40_000_000
"""Largest canvas accepted (40 MP)."""
MAX_DECODE_BYTES: Final = 200 * 1024 * 1024
"""Memory one picture may take to decode and normalise: a 40 MP RGB picture (Pillow keeps RGB as
4 bytes a pixel, 160 MB) fits; a 40 MP 16-bit grey one (2 bytes decoded + 4 for its RGB copy)
does not."""
MAX_ASPECT: Final = 30.0
"""Longest side ÷ shortest side. A ten-screen phone screenshot is about 22:1; a 40000×1 strip
is no picture to edit, and every scaled working copy of it is mostly padding."""
ANALYSIS_SIDE: Final = 1600
"""Longest side the analysis reads (the OCR's input); the analysis copy is reduced by a whole
factor to between this and twice this."""
RGB_BYTES_PER_PIXEL: Final = 4
"""What Pillow stores per pixel of an RGB or RGBA image."""
MMAP_THRESHOLD: Final = 4 * 1024 * 1024
"""Buffers this large or larger get their own mapping, returned to the system when freed."""
_M_MMAP_THRESHOLD: Final = -3  # glibc's mallopt parameter number


def decode_bytes(width: int, height: int, bytes_per_pixel: int) -> int:
    """Memory to decode a ``width``×``height`` picture and hold its RGB(A) working copy."""
    pixels = width * height
    extra = 0 if bytes_per_pixel == RGB_BYTES_PER_PIXEL else RGB_BYTES_PER_PIXEL
    return pixels * (bytes_per_pixel + extra)


def analysis_factor(width: int, height: int) -> int:
    """The whole factor that reduces a picture to at most twice :data:`ANALYSIS_SIDE` (≥ 1)."""
    return max(1, max(width, height) // ANALYSIS_SIDE)


_SLOTS: dict[int, threading.BoundedSemaphore] = {}
_SLOTS_LOCK = threading.Lock()
_allocator_tuned = False


def _return_big_buffers() -> None:
    """Make glibc hand big freed buffers back to the system (once per process).

    glibc raises its mmap threshold to the size of the last freed mapping (up to 32 MB), after
    which picture-sized buffers come from per-thread heaps that keep them: six pictures analysed
    on six threads held 1.1 GB here, against 0.7 GB with a fixed 4 MB threshold. Other C
    libraries (musl, macOS) have no such knob or no such habit; nothing is done there.
    """
    global _allocator_tuned
    if _allocator_tuned:
        return
    _allocator_tuned = True
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)


@contextmanager
def decode_slot(slots: int) -> Iterator[None]:
    """Hold one of this process's ``slots`` places for a picture decoded at full size.

    Threads beyond the cap wait here, so N pictures arriving at once cost at most ``slots``
    full-size decodes of memory instead of N.
    """
    slots = max(1, slots)
    with _SLOTS_LOCK:
        _return_big_buffers()
        semaphore = _SLOTS.setdefault(slots, threading.BoundedSemaphore(slots))
    with semaphore:
        yield
