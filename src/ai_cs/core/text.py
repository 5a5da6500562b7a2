"""Text as the shop's matching compares it: phrases, intents, risk keywords, library search."""

from __future__ import annotations

import unicodedata


def normalise(text: str) -> str:
    """NFKC (full-width letters and digits → ASCII), lower case, runs of whitespace as one space."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())
