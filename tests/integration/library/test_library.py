"""Indexing the shop's pictures and finding them again by picture and by words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from library_support import bottle, encoded, stripes, write
from sqlalchemy import select

from ai_cs.errors import ImageRejected
from ai_cs.imaging.ocr import StaticOcr
from ai_cs.library import service
from ai_cs.library.models import LibraryImage
from ai_cs.library.service import AddReport, add_directory
from ai_cs.workflow import Workflow
from factories import hills


def test_add_indexes_tags_text_and_hashes(workflow: Workflow, indexed: AddReport) -> None:
    assert (indexed.added, indexed.updated, indexed.unchanged) == (2, 0, 0)
    assert [Path(p).name for p, _ in indexed.failed] == ["坏文件.png"]
    with workflow.db.read() as session:
        rows = {r.file_name: r for r in session.execute(select(LibraryImage)).scalars()}
    bottle_row = rows["蓝色水瓶_主图.png"]
    assert json.loads(bottle_row.tags) == ["产品图", "蓝色水瓶", "主图"]
    assert bottle_row.folder == "产品图"
    assert (bottle_row.width, bottle_row.height) == (1000, 1000)
    assert bottle_row.ocr_text == "夏日清凉 Summer Sale"
    assert len(bottle_row.phash) == 16 and len(bottle_row.dhash) == 16
    assert "summer sale" in bottle_row.search_text


def test_adding_again_skips_unchanged_and_updates_changed(
    workflow: Workflow, indexed: AddReport, library_dir: Path
) -> None:
    write(library_dir / "风景" / "山景_日出.jpg", encoded(stripes(), "JPEG"))
    again = add_directory(workflow.db, workflow.clock, library_dir, ocr=StaticOcr())
    assert (again.added, again.updated, again.unchanged) == (0, 1, 1)
    with workflow.db.read() as session:
        assert service.count_pictures(session) == 2


@pytest.mark.parametrize(
    ("fmt", "scale", "params"),
    [
        ("JPEG", 0.5, {"quality": 60}),
        ("JPEG", 0.25, {"quality": 40}),
        ("WEBP", 0.7, {"quality": 50}),
        ("PNG", 1.6, {}),
    ],
)
def test_finds_resized_recompressed_copies(
    workflow: Workflow, indexed: AddReport, fmt: str, scale: float, params: dict[str, int]
) -> None:
    copy = service.decode_picture(encoded(bottle(), fmt, scale, **params))
    with workflow.db.read() as session:
        matches = service.search_by_picture(session, copy)
    assert [m.file_name for m in matches] == ["蓝色水瓶_主图.png"]
    assert matches[0].resolution == "1000×1000"
    assert matches[0].distance is not None and matches[0].distance <= 8


def test_a_different_picture_matches_nothing(workflow: Workflow, indexed: AddReport) -> None:
    with workflow.db.read() as session:
        assert service.search_by_picture(session, stripes()) == []
        found = service.search_by_picture(session, hills(size=(600, 400)))
    assert [m.file_name for m in found] == ["山景_日出.jpg"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("帮我找蓝色水瓶的高清原图", ["蓝色水瓶_主图.png"]),
        ("山景日出", ["山景_日出.jpg"]),
        ("产品图", ["蓝色水瓶_主图.png"]),
        ("summer sale", ["蓝色水瓶_主图.png", "山景_日出.jpg"]),
        ("红色汽车", []),
        ("帮我找原图", []),
        ("100%_\\", []),
    ],
)
def test_finds_by_words(
    workflow: Workflow, indexed: AddReport, query: str, expected: list[str]
) -> None:
    with workflow.db.read() as session:
        matches = service.search_by_words(session, query)
    # Equal scores: the larger picture first.
    assert sorted(m.file_name for m in matches) == sorted(expected)
    if len(expected) > 1:
        assert matches[0].megapixels >= matches[1].megapixels


def test_query_terms_drop_filler() -> None:
    assert service.query_terms("帮我找一张蓝色水瓶的高清原图") == ["蓝色", "色水", "水瓶"]
    assert service.query_terms("Find the LOGO file") == ["find", "the", "logo", "file"]
    assert service.query_terms("找图") == []


def test_refuses_what_is_not_a_picture() -> None:
    for data in (b"", b"%PDF-1.7 ...", b"\x89PNG\r\n\x1a\n" + b"\x00" * 10):
        with pytest.raises(ImageRejected):
            service.decode_picture(data)
