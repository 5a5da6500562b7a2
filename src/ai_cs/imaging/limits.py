"""Size limits of customer pictures, shared by intake and the URL fetcher."""

from __future__ import annotations

from typing import Final

MAX_BYTES: Final = 20 * 1024 * 1024
"""Largest picture accepted, in bytes (also the cap while downloading)."""
