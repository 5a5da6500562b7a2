"""Which stored references may be served from the data directory."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from ai_cs.api.files import is_web_url, local_file, media_type_of


def test_local_file_stays_inside_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    picture = data / "images" / "ab" / "p.png"
    picture.parent.mkdir(parents=True)
    picture.write_bytes(b"png")
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"secret")
    os.symlink(outside, data / "images" / "escape.png")

    assert local_file(data, "images/ab/p.png") == picture.resolve()
    assert local_file(data, str(picture)) == picture.resolve()
    assert local_file(data, picture.as_uri()) == picture.resolve()
    for reference in (
        None,
        "",
        "images/ab/missing.png",
        "../outside.png",
        "images/../../outside.png",
        str(outside),
        outside.as_uri(),
        "images/escape.png",
        "images",
        "images/ab/p.png\x00.txt",
        "file://other-host/etc/passwd",
        "javascript:alert(1)",
        "https://example.com/p.png",
    ):
        assert local_file(data, reference) is None, reference


def test_web_urls_and_media_types() -> None:
    assert is_web_url("https://img.example.com/a.jpg")
    assert is_web_url("http://127.0.0.1:8000/a.jpg")
    assert not is_web_url("https:///no-host")
    assert not is_web_url("ftp://example.com/a.jpg")
    assert not is_web_url("results/ab/x.svg")
    assert media_type_of(PurePosixPath("x.SVG")) == "image/svg+xml"
    assert media_type_of(PurePosixPath("x.psd")) == "image/vnd.adobe.photoshop"
    assert media_type_of(PurePosixPath("x.unknown")) == "application/octet-stream"
