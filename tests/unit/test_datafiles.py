"""Storage keys: the one way a stored reference becomes a file of the data directory."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from ai_cs import datafiles
from ai_cs.config import Settings
from ai_cs.errors import NotFound

DIGEST = hashlib.sha256(b"png").hexdigest()
KEY = f"images/{DIGEST[:2]}/{DIGEST}.png"


def _stored(data: Path) -> Path:
    picture = data / KEY
    picture.parent.mkdir(parents=True)
    picture.write_bytes(b"png")
    return picture


def test_a_relative_data_dir_is_made_absolute_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AICS_DATA_DIR", raising=False)
    settings = Settings(_env_file=None)
    assert settings.data_dir == tmp_path / "data"
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'data' / 'ai_cs.db'}"
    monkeypatch.chdir("/")  # a later change of directory changes nothing
    assert datafiles.path_of(settings.data_dir, KEY) == tmp_path / "data" / KEY
    assert Settings(data_dir=Path("~/x"), _env_file=None).data_dir == Path.home() / "x"


def test_put_is_content_addressed_and_returns_a_key(tmp_path: Path) -> None:
    key = datafiles.put(tmp_path, "results", b"svg-bytes", ".SVG")
    digest = hashlib.sha256(b"svg-bytes").hexdigest()
    assert key == f"results/{digest[:2]}/{digest}.svg"
    assert datafiles.put(tmp_path, "results", b"svg-bytes", "svg") == key
    assert (tmp_path / key).read_bytes() == b"svg-bytes"
    assert datafiles.put(tmp_path, "images", b"j", "jpeg").endswith(".jpg")
    assert [p.name for p in (tmp_path / key).parent.iterdir()] == [f"{digest}.svg"]
    with pytest.raises(ValueError):
        datafiles.put(tmp_path, "results", b"x", "exe")
    with pytest.raises(ValueError):
        datafiles.put(tmp_path, "../etc", b"x", "png")


def test_keys_and_legacy_paths_name_the_stored_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    picture = _stored(data)
    assert datafiles.stored_file(data, KEY) == picture.resolve()
    # Rows from before keys: an absolute path, the relative path the old default wrote,
    # a file: URL, even a path from a data directory that has since moved.
    for legacy in (str(picture), f"data/{KEY}", picture.as_uri(), f"/old/place/{KEY}"):
        assert datafiles.key_of(legacy) == KEY, legacy
        assert datafiles.stored_file(data, legacy) == picture.resolve(), legacy
    with pytest.raises(NotFound):
        datafiles.path_of(data, "ai_cs.db")


def test_nothing_but_keyed_files_can_be_named(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _stored(data)
    (data / "ai_cs.db").write_bytes(b"SQLite format 3")
    (data / "dispatch-callback.secret").write_text("s3cret")
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"secret")
    escape = data / "images" / DIGEST[:2] / f"{'0' * 64}.png"
    os.symlink(outside, escape)
    for reference in (
        None,
        "",
        "ai_cs.db",
        str(data / "ai_cs.db"),
        "dispatch-callback.secret",
        f"images/{DIGEST[:2]}/{'1' * 64}.png",  # well-formed but not stored
        str(escape),  # a key whose file is a symlink out of the data directory
        "../outside.png",
        "images/../../outside.png",
        str(outside),
        outside.as_uri(),
        "images",
        f"{KEY}\x00.txt",
        f"file://other-host/{KEY}",
        "javascript:alert(1)",
        f"https://example.com/{KEY}",
    ):
        assert datafiles.stored_file(data, reference) is None, reference


def test_original_references_prefer_the_stored_copy() -> None:
    task = {
        "original_image": "https://img.example.com/p.jpg",
        "requirements": {"stored_image": KEY},
    }
    assert datafiles.original_references(task) == (KEY, "https://img.example.com/p.jpg")
    assert datafiles.best_original(task) == KEY
    assert datafiles.best_original({"original_image": "u", "requirements": '{"x": 1}'}) == "u"
    assert (
        datafiles.best_original({"original_image": "u", "requirements": {"stored_image": "/etc/x"}})
        == "u"
    )
