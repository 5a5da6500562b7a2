"""Which stored references may be served from the data directory."""

from __future__ import annotations

from pathlib import PurePosixPath

from ai_cs.web.files import is_web_url, media_type_of


def test_web_urls_and_media_types() -> None:
    assert is_web_url("https://img.example.com/a.jpg")
    assert is_web_url("http://127.0.0.1:8000/a.jpg")
    assert not is_web_url("https:///no-host")
    assert not is_web_url("ftp://example.com/a.jpg")
    assert not is_web_url("results/ab/x.svg")
    assert media_type_of(PurePosixPath("x.SVG")) == "image/svg+xml"
    assert media_type_of(PurePosixPath("x.psd")) == "image/vnd.adobe.photoshop"
    assert media_type_of(PurePosixPath("x.unknown")) == "application/octet-stream"
