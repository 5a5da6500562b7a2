"""Find-image (查找图片): index the shop's pictures and find them by picture or by words.

* **By picture.** Every library picture has a pHash and a dHash (64 bits each, from
  ``imagehash``), computed on the picture flattened onto white. A customer's copy that was
  resized, recompressed or slightly recoloured keeps both hashes within a few bits, so a match
  needs ``phash`` distance ≤ :data:`PHASH_MAX_DISTANCE` **and** ``dhash`` distance ≤
  :data:`DHASH_MAX_DISTANCE`; two checks with different hashes keep false matches rare.
* **By words.** Tags come from the folder and file name (``产品图/红色杯子_logo.png`` →
  ``产品图``, ``红色杯子``, ``logo``), plus the text the OCR read in the picture. A query is
  cleaned of filler (``帮我找一张…的原图``), split into ASCII words and Chinese bigrams, and a
  picture matches when at least :data:`WORD_MIN_SCORE` of the terms occur in its text.

Functions take a session and never commit, except :func:`add_directory`, an edge used by the CLI
that commits one short transaction per picture.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import struct
import warnings
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import imagehash
import numpy as np
from PIL import Image
from pydantic import BaseModel
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ai_cs.clock import Clock, iso
from ai_cs.core.text import normalise
from ai_cs.db.database import Database
from ai_cs.errors import AicsError, ImageRejected, InvalidArgument
from ai_cs.imaging.ocr import OcrEngine
from ai_cs.library.models import LibraryImage

PHASH_MAX_DISTANCE: Final = 10
"""Largest pHash Hamming distance (of 64 bits) still counted as the same picture."""
DHASH_MAX_DISTANCE: Final = 12
"""Largest dHash Hamming distance (of 64 bits) still counted as the same picture."""
WORD_MIN_SCORE: Final = 0.5
"""Share of the query's terms a picture's text must contain to match."""
MAX_RESULTS: Final = 10
MAX_QUERY_CHARS: Final = 200
MAX_FILE_BYTES: Final = 40 * 1024 * 1024
MAX_PIXELS: Final = 80_000_000
PICTURE_SUFFIXES: Final = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})

QUERY_FILLER: Final = (
    "帮我找一下",
    "帮我找找",
    "帮忙找",
    "帮我找",
    "麻烦找",
    "找一下",
    "找一张",
    "找找",
    "找到",
    "高清原图",
    "高清大图",
    "高清图",
    "原图",
    "原版",
    "大图",
    "图片",
    "照片",
    "一张",
    "这张",
    "那张",
    "有没有",
    "能不能",
    "可以",
    "请问",
    "麻烦",
    "帮我",
    "帮忙",
    "谢谢",
    "高清",
    "找图",
    "找",
    "的",
    "吗",
    "呢",
    "吧",
    "啊",
    "图",
)
"""Words of a find-image request that say nothing about which picture (longest first)."""

_SPLIT_NAME = re.compile(r"[\s_\-.,，、;；:：()（）\[\]【】{}+&]+")
_ASCII_WORD = re.compile(r"[a-z0-9]+")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_DECODE_ERRORS: Final = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error)


class LibraryPictureRejected(ImageRejected, code="library_picture_rejected"):
    """A file could not be read as a picture for the library or a search."""


class LibraryMatch(BaseModel):
    """A library picture that matches a search, with its resolution."""

    image_id: int
    file_name: str
    folder: str
    tags: list[str]
    width: int
    height: int
    resolution: str  # "3000×2000"
    megapixels: float
    path: str
    distance: int | None = None  # pHash + dHash bits, for picture searches
    score: float = 1.0  # share of query terms found, for word searches


@dataclass
class AddReport:
    """What ``aics library add`` did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


# --- pictures and hashes -------------------------------------------------------------------------
def decode_picture(data: bytes) -> Image.Image:
    """Decode JPEG/PNG/WebP/BMP bytes after the intake checks (format, size, bombs)."""
    from ai_cs.imaging.intake import check_canvas, header_size, sniff_format

    if not data:
        raise LibraryPictureRejected("the picture is empty")
    if len(data) > MAX_FILE_BYTES:
        raise LibraryPictureRejected(f"the picture has {len(data)} bytes; too large")
    fmt = sniff_format(data)
    width, height = header_size(data, fmt)
    check_canvas(width, height, len(data))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            img = Image.open(io.BytesIO(data), formats=[fmt])
            img.load()
        except (Image.DecompressionBombError, Warning, *_DECODE_ERRORS) as exc:
            raise LibraryPictureRejected(f"{fmt} file does not decode: {exc}") from exc
    return img


def flatten(img: Image.Image) -> Image.Image:
    """RGB pixels with any transparency laid onto white (the way customers see the picture)."""
    if img.mode in ("RGBA", "LA", "P", "PA"):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        canvas.alpha_composite(rgba)
        return canvas.convert("RGB")
    return img.convert("RGB")


def picture_hashes(img: Image.Image) -> tuple[str, str]:
    """``(phash, dhash)`` of a picture as 16 hex digits each."""
    rgb = flatten(img)
    return str(imagehash.phash(rgb)), str(imagehash.dhash(rgb))


def hamming(a: str, b: str) -> int:
    """Bits that differ between two hex hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def resolution_label(width: int, height: int) -> str:
    """``3000×2000``."""
    return f"{width}×{height}"


# --- text ----------------------------------------------------------------------------------------
def tags_for(path: Path, root: Path | None = None) -> list[str]:
    """Tags from the folder names (below ``root``) and the file name."""
    parts: list[str] = []
    if root is not None:
        try:
            parts.extend(path.parent.relative_to(root).parts)
        except ValueError:
            parts.append(path.parent.name)
    parts.append(path.stem)
    tags: list[str] = []
    for part in parts:
        for token in _SPLIT_NAME.split(normalise(part)):
            if token and token not in tags:
                tags.append(token)
    return tags


def query_terms(query: str) -> list[str]:
    """The terms of a word query: ASCII words and Chinese bigrams, filler removed."""
    text = normalise(query)[:MAX_QUERY_CHARS]
    for word in sorted(QUERY_FILLER, key=len, reverse=True):
        text = text.replace(word, " ")
    terms: list[str] = []
    for word in _ASCII_WORD.findall(text):
        if len(word) >= 2 and word not in terms:
            terms.append(word)
    for run in _CJK_RUN.findall(text):
        if len(run) < 2:
            continue  # a lone character left over from filler ("能", "我") says nothing
        grams = [run] if len(run) == 2 else [run[i : i + 2] for i in range(len(run) - 1)]
        for gram in grams:
            if gram not in terms:
                terms.append(gram)
    return terms[:20]


def _like_escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _to_match(
    row: LibraryImage, *, distance: int | None = None, score: float = 1.0
) -> LibraryMatch:
    try:
        tags = json.loads(row.tags)
    except ValueError:
        tags = []
    return LibraryMatch(
        image_id=row.image_id,
        file_name=row.file_name,
        folder=row.folder,
        tags=[str(t) for t in tags] if isinstance(tags, list) else [],
        width=row.width,
        height=row.height,
        resolution=resolution_label(row.width, row.height),
        megapixels=round(row.width * row.height / 1e6, 2),
        path=row.path,
        distance=distance,
        score=round(score, 3),
    )


# --- writing -------------------------------------------------------------------------------------
def add_picture(
    session: Session,
    clock: Clock,
    *,
    path: Path,
    data: bytes,
    root: Path | None = None,
    ocr: OcrEngine | None = None,
    extra_tags: Iterable[str] = (),
    acc_id: str | None = None,
) -> tuple[LibraryImage, str]:
    """Index one picture; returns the row and ``added``, ``updated`` or ``unchanged``."""
    digest = hashlib.sha256(data).hexdigest()
    key = str(path.resolve())
    existing = session.execute(
        select(LibraryImage).where(LibraryImage.path == key)
    ).scalar_one_or_none()
    if existing is not None and existing.sha256 == digest:
        return existing, "unchanged"
    img = decode_picture(data)
    phash, dhash = picture_hashes(img)
    ocr_text = ""
    if ocr is not None:
        lines = ocr.read(np.asarray(flatten(img), dtype=np.uint8))
        ocr_text = "\n".join(line.text for line in lines)
    tags = tags_for(path, root)
    for tag in extra_tags:
        cleaned = normalise(tag)
        if cleaned and cleaned not in tags:
            tags.append(cleaned)
    search_text = normalise(" ".join([path.stem, *tags, ocr_text]))
    now = iso(clock.now())
    folder = ""
    if root is not None:
        try:
            folder = str(path.parent.relative_to(root))
        except ValueError:
            folder = path.parent.name
    values = {
        "path": key,
        "file_name": path.name,
        "folder": "" if folder == "." else folder,
        "tags": json.dumps(tags, ensure_ascii=False),
        "ocr_text": ocr_text,
        "search_text": search_text,
        "width": img.width,
        "height": img.height,
        "format": (img.format or "").lower(),
        "bytes": len(data),
        "sha256": digest,
        "phash": phash,
        "dhash": dhash,
        "acc_id": acc_id,
        "updated_at": now,
    }
    if existing is None:
        row = LibraryImage(added_at=now, **values)
        session.add(row)
        session.flush()
        return row, "added"
    for name, value in values.items():
        setattr(existing, name, value)
    session.flush()
    return existing, "updated"


def iter_pictures(directory: Path) -> Iterator[Path]:
    """Picture files below ``directory`` by suffix, in a stable order."""
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.suffix.lower() in PICTURE_SUFFIXES:
            yield path


def add_directory(
    db: Database,
    clock: Clock,
    directory: Path,
    *,
    ocr: OcrEngine | None = None,
    extra_tags: Iterable[str] = (),
    acc_id: str | None = None,
) -> AddReport:
    """Index every picture below ``directory`` (one transaction per picture)."""
    if not directory.is_dir():
        raise InvalidArgument(f"{str(directory)!r} is not a directory")
    report = AddReport()
    root = directory.resolve()
    tags = list(extra_tags)
    for path in iter_pictures(root):
        try:
            data = path.read_bytes()

            def index(session: Session, path: Path = path, data: bytes = data) -> str:
                _, outcome = add_picture(
                    session,
                    clock,
                    path=path,
                    data=data,
                    root=root,
                    ocr=ocr,
                    extra_tags=tags,
                    acc_id=acc_id,
                )
                return outcome

            outcome = db.run_write(index)
        except (AicsError, OSError) as exc:
            reason = exc.message if isinstance(exc, AicsError) else str(exc)
            report.failed.append((str(path), reason))
            continue
        if outcome == "added":
            report.added += 1
        elif outcome == "updated":
            report.updated += 1
        else:
            report.unchanged += 1
    return report


# --- searching -----------------------------------------------------------------------------------
def search_by_picture(
    session: Session,
    img: Image.Image,
    *,
    phash_max: int = PHASH_MAX_DISTANCE,
    dhash_max: int = DHASH_MAX_DISTANCE,
    limit: int = MAX_RESULTS,
    acc_id: str | None = None,
) -> list[LibraryMatch]:
    """Library pictures that look like ``img``, closest first."""
    phash, dhash = picture_hashes(img)
    stmt = select(LibraryImage.image_id, LibraryImage.phash, LibraryImage.dhash)
    if acc_id is not None:
        stmt = stmt.where(or_(LibraryImage.acc_id.is_(None), LibraryImage.acc_id == acc_id))
    close: list[tuple[int, int]] = []
    for image_id, row_phash, row_dhash in session.execute(stmt):
        p = hamming(phash, row_phash)
        if p > phash_max:
            continue
        d = hamming(dhash, row_dhash)
        if d <= dhash_max:
            close.append((p + d, image_id))
    close.sort()
    close = close[: max(1, limit)]
    rows = {
        r.image_id: r
        for r in session.execute(
            select(LibraryImage).where(LibraryImage.image_id.in_([i for _, i in close]))
        ).scalars()
    }
    return [_to_match(rows[i], distance=dist) for dist, i in close if i in rows]


def search_by_words(
    session: Session,
    query: str,
    *,
    min_score: float = WORD_MIN_SCORE,
    limit: int = MAX_RESULTS,
    acc_id: str | None = None,
) -> list[LibraryMatch]:
    """Library pictures whose names, tags or OCR text contain the query's terms, best first."""
    if not isinstance(query, str):
        raise InvalidArgument("query must be text")
    terms = query_terms(query)
    if not terms:
        return []
    stmt = select(LibraryImage).where(
        or_(*(LibraryImage.search_text.like(f"%{_like_escape(t)}%", escape="\\") for t in terms))
    )
    if acc_id is not None:
        stmt = stmt.where(or_(LibraryImage.acc_id.is_(None), LibraryImage.acc_id == acc_id))
    scored: list[tuple[float, int, LibraryImage]] = []
    for row in session.execute(stmt.limit(2000)).scalars():
        hits = sum(1 for t in terms if t in row.search_text)
        score = hits / len(terms)
        if score >= min_score:
            scored.append((score, row.width * row.height, row))
    scored.sort(key=lambda item: (-item[0], -item[1], item[2].image_id))
    return [_to_match(row, score=score) for score, _, row in scored[: max(1, limit)]]


def get_picture(session: Session, image_id: int) -> LibraryMatch | None:
    """One library picture by id."""
    row = session.get(LibraryImage, image_id)
    return _to_match(row) if row is not None else None


def count_pictures(session: Session) -> int:
    """How many pictures the library holds."""
    from sqlalchemy import func

    return int(session.execute(select(func.count()).select_from(LibraryImage)).scalar_one())
