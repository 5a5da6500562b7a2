"""The ``library_images`` table: one row per picture in the shop's library.

Perceptual hashes (pHash and dHash, 64 bits each) are stored as 16 hex digits; search compares
them by Hamming distance in Python, which is fast enough for a shop's library (a scan of 10 000
rows takes milliseconds) and works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import Index
from sqlalchemy.orm import Mapped, mapped_column

from ai_cs.db.models import Base, SerialId


class LibraryImage(Base):
    """A picture the shop can find for customers (图库图片)."""

    __tablename__ = "library_images"
    __table_args__ = (Index("ix_library_images_sha256", "sha256"),)

    image_id: Mapped[SerialId]
    path: Mapped[str] = mapped_column(unique=True)
    file_name: Mapped[str]
    folder: Mapped[str]
    tags: Mapped[str]  # JSON list
    ocr_text: Mapped[str]
    search_text: Mapped[str]  # normalised name, tags and OCR text
    width: Mapped[int]
    height: Mapped[int]
    format: Mapped[str]
    bytes: Mapped[int]
    sha256: Mapped[str]
    phash: Mapped[str]
    dhash: Mapped[str]
    acc_id: Mapped[str | None]
    added_at: Mapped[str]
    updated_at: Mapped[str]
