"""A shop library of generated pictures on a fresh database."""

from __future__ import annotations

from pathlib import Path

import pytest
from library_support import bottle, encoded, write

from ai_cs.imaging.ocr import StaticOcr
from ai_cs.library.service import AddReport, add_directory
from ai_cs.workflow import Workflow
from factories import hills


@pytest.fixture
def library_dir(tmp_path: Path) -> Path:
    """产品图/蓝色水瓶_主图.png, 风景/山景_日出.jpg and a broken file."""
    root = tmp_path / "library"
    write(root / "产品图" / "蓝色水瓶_主图.png", encoded(bottle()))
    write(root / "风景" / "山景_日出.jpg", encoded(hills(), "JPEG", quality=92))
    write(root / "坏文件.png", b"\x89PNG\r\n\x1a\nnot really a picture")
    (root / "说明.txt").write_text("not a picture", encoding="utf-8")
    return root


@pytest.fixture
def indexed(workflow: Workflow, library_dir: Path) -> AddReport:
    """The library indexed, with the OCR reading a slogan in every picture."""
    return add_directory(
        workflow.db, workflow.clock, library_dir, ocr=StaticOcr(["夏日清凉 Summer Sale"])
    )
