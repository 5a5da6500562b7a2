"""The ``library_images`` table: one row per picture in the shop's library.

Perceptual hashes (pHash and dHash, 64 bits each) are stored as 16 hex digits; search compares
them by Hamming distance in Python, which is fast enough for a shop's library (a scan of 10 000
rows takes milliseconds) and works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from ai_cs.db.models import Base


class LibraryImage(Base):
    """A picture the shop can find for customers (图库图片)."""

    __tablename__ = "library_images"
    __table_args__ = (Index("ix_library_images_sha256", "sha256"),)

    image_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    path: Mapped[str] = mapped_column(Text, unique=True)
    file_name: Mapped[str] = mapped_column(Text)
    folder: Mapped[str] = mapped_column(Text)
    tags: Mapped[str] = mapped_column(Text)  # JSON list
    ocr_text: Mapped[str] = mapped_column(Text)
    search_text: Mapped[str] = mapped_column(Text)  # normalised name, tags and OCR text
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(Text)
    bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(Text)
    phash: Mapped[str] = mapped_column(Text)
    dhash: Mapped[str] = mapped_column(Text)
    acc_id: Mapped[str | None] = mapped_column(Text)
    added_at: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[str] = mapped_column(Text)
