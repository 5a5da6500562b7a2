"""Intake: allowed formats are cleaned and stored; everything hostile is refused fast."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from pictures import (
    EPS_BYTES,
    TEXT_BYTES,
    bomb_png,
    encode,
    flat_logo,
    photo_like,
    truncated_jpeg,
)
from PIL import Image, ImageFile

from ai_cs.errors import ImageRejected
from ai_cs.imaging.intake import (
    MAX_BYTES,
    DecompressionBomb,
    EmptyFile,
    FileNotFound,
    ImageTooLarge,
    TooManyPixels,
    TruncatedImage,
    UnsupportedFormat,
    header_size,
    intake,
    sniff_format,
)


# --- accepted pictures ----------------------------------------------------------------------
def test_png_is_stored_content_addressed(settings):
    data = encode(flat_logo((300, 200)), "PNG")
    stored = intake(data, settings)
    body = stored.path.read_bytes()
    assert stored.sha256 == hashlib.sha256(body).hexdigest()
    assert stored.path == settings.data_dir / "images" / stored.sha256[:2] / f"{stored.sha256}.png"
    assert (stored.width, stored.height) == (300, 200)
    assert (stored.format, stored.mime, stored.source_format) == ("png", "image/png", "PNG")
    assert stored.original_bytes == len(data)
    assert stored.original_sha256 == hashlib.sha256(data).hexdigest()
    assert stored.source == "bytes"
    assert not stored.has_alpha
    assert stored.image().size == (300, 200)


def test_same_picture_is_stored_once(settings):
    data = encode(flat_logo((120, 120)), "PNG")
    first, second = intake(data, settings), intake(data, settings)
    assert first.path == second.path
    assert len(list((settings.data_dir / "images").rglob("*.*"))) == 1


def test_jpeg_stays_jpeg_with_exif_rotation_applied_and_metadata_gone(settings):
    img = photo_like((200, 100))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x010F] = "SpyCam"  # Make
    data = encode(img, "JPEG", quality=92, exif=exif.tobytes())
    stored = intake(data, settings)
    assert (stored.width, stored.height) == (100, 200)
    assert stored.format == "jpeg" and stored.path.suffix == ".jpg"
    with Image.open(stored.path) as out:
        assert out.size == (100, 200)
        assert not out.getexif()
        assert "exif" not in out.info and "icc_profile" not in out.info


def test_alpha_is_kept_as_png(settings):
    img = Image.new("RGBA", (64, 64), (255, 0, 0, 0))
    img.paste((0, 0, 255, 255), (16, 16, 48, 48))
    stored = intake(encode(img, "PNG"), settings)
    assert stored.has_alpha and stored.format == "png"
    with Image.open(stored.path) as out:
        assert out.mode == "RGBA"
        assert out.getpixel((0, 0))[3] == 0


def test_opaque_alpha_is_dropped(settings):
    stored = intake(encode(Image.new("RGBA", (32, 32), (1, 2, 3, 255)), "PNG"), settings)
    assert not stored.has_alpha
    with Image.open(stored.path) as out:
        assert out.mode == "RGB"


def test_palette_png_with_transparency(settings):
    img = Image.new("P", (40, 40), 0)
    img.putpalette([255, 255, 255, 200, 0, 0] + [0] * 762)
    img.paste(1, (10, 10, 30, 30))
    stored = intake(encode(img, "PNG", transparency=0), settings)
    assert stored.has_alpha


def test_sixteen_bit_grey_png(settings):
    deep = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16).astype(np.uint16)
    img = Image.fromarray(deep)
    stored = intake(encode(img, "PNG"), settings)
    assert (stored.width, stored.height) == (64, 64)
    assert stored.image().getextrema()[0][1] > 200  # scaled, not clipped to black/white


@pytest.mark.parametrize(
    ("fmt", "params", "stored_format"),
    [
        ("WEBP", {"quality": 80}, "jpeg"),
        ("WEBP", {"lossless": True}, "png"),
        ("BMP", {}, "png"),
    ],
)
def test_webp_and_bmp(settings, fmt, params, stored_format):
    stored = intake(encode(photo_like((160, 120)), fmt, **params), settings)
    assert stored.source_format == fmt
    assert stored.format == stored_format
    assert (stored.width, stored.height) == (160, 120)


def test_camera_mpo_jpeg_is_accepted_as_jpeg(settings):
    out = io.BytesIO()
    photo_like((80, 60)).save(out, "MPO", save_all=True, append_images=[photo_like((80, 60), 3)])
    stored = intake(out.getvalue(), settings)
    assert (stored.source_format, stored.format, stored.width) == ("JPEG", "jpeg", 80)


def test_local_path_as_str_and_path(settings, tmp_path):
    path = tmp_path / "any-name.gif"  # the name does not matter, the bytes do
    path.write_bytes(encode(flat_logo((50, 40)), "PNG"))
    assert intake(path, settings).source_format == "PNG"
    stored = intake(str(path), settings)
    assert stored.source == str(path)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP"])
def test_header_size_matches_pillow(fmt):
    data = encode(photo_like((123, 77)), fmt)
    assert header_size(data, sniff_format(data)) == (123, 77)


# --- refused pictures -------------------------------------------------------------------------
def _png_with_size(width: int, height: int, padding: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"tEXt", b"c\0" + b"x" * padding)


REFUSED = [
    ("bomb", lambda: bomb_png(), DecompressionBomb, "decompression_bomb"),
    ("truncated", truncated_jpeg, TruncatedImage, "truncated_image"),
    ("text", lambda: TEXT_BYTES, UnsupportedFormat, "unsupported_format"),
    ("eps", lambda: EPS_BYTES, UnsupportedFormat, "unsupported_format"),
    ("gif", lambda: encode(flat_logo((20, 20)), "GIF"), UnsupportedFormat, "unsupported_format"),
    ("tiff", lambda: encode(flat_logo((20, 20)), "TIFF"), UnsupportedFormat, "unsupported_format"),
    ("pdf", lambda: b"%PDF-1.7\n%...", UnsupportedFormat, "unsupported_format"),
    ("svg", lambda: b"<?xml version='1.0'?><svg/>", UnsupportedFormat, "unsupported_format"),
    ("empty", lambda: b"", EmptyFile, "empty_file"),
    ("huge", lambda: b"\xff\xd8\xff" + b"\0" * (MAX_BYTES + 1), ImageTooLarge, "image_too_large"),
    (
        "too_many_pixels",
        lambda: _png_with_size(8000, 6000, 600_000),
        TooManyPixels,
        "too_many_pixels",
    ),
    ("png_header_only", lambda: b"\x89PNG\r\n\x1a\n\0\0", TruncatedImage, "truncated_image"),
    ("jpeg_magic_only", lambda: b"\xff\xd8\xff\xe0", TruncatedImage, "truncated_image"),
]


@pytest.mark.parametrize(("name", "make", "error", "code"), REFUSED, ids=[r[0] for r in REFUSED])
def test_hostile_bytes_are_refused(settings, name, make, error, code):
    with pytest.raises(error) as info:
        intake(make(), settings)
    assert isinstance(info.value, ImageRejected)
    assert info.value.code == code
    assert "\n" not in info.value.message
    assert not (settings.data_dir / "images").exists() or not any(
        (settings.data_dir / "images").rglob("*.*")
    )
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_corrupt_png_body(settings):
    data = bytearray(encode(photo_like((64, 64)), "PNG"))
    data[60:200] = b"\x00" * 140
    with pytest.raises(ImageRejected) as info:
        intake(bytes(data), settings)
    assert info.value.code in {"corrupt_image", "truncated_image"}


def test_missing_and_special_paths(settings, tmp_path):
    with pytest.raises(FileNotFound):
        intake(tmp_path / "nope.png", settings)
    with pytest.raises(FileNotFound):
        intake(str(tmp_path), settings)


def test_big_file_is_refused_without_reading_it(settings, tmp_path):
    path = tmp_path / "big.png"
    with path.open("wb") as fh:
        fh.truncate(25 * 1024 * 1024)  # sparse: 25 MB without writing them
    with pytest.raises(ImageTooLarge):
        intake(path, settings)


# --- the CLI on the hostile corpus --------------------------------------------------------------
def _hostile_files(folder: Path) -> dict[str, tuple[Path, str]]:
    files = {
        "bomb.png": (bomb_png(), "decompression_bomb"),
        "truncated.jpg": (truncated_jpeg(), "truncated_image"),
        "text.jpg": (TEXT_BYTES, "unsupported_format"),
        "eps.png": (EPS_BYTES, "unsupported_format"),
        "empty.jpg": (b"", "empty_file"),
    }
    out = {}
    for name, (data, code) in files.items():
        path = folder / name
        path.write_bytes(data)
        out[name] = (path, code)
    big = folder / "big.jpg"
    with big.open("wb") as fh:
        fh.write(encode(photo_like((64, 64)), "JPEG"))
        fh.truncate(25 * 1024 * 1024)
    out["big.jpg"] = (big, "image_too_large")
    return out


def test_cli_refuses_hostile_corpus_with_exit_2(run_cli, tmp_path):
    for name, (path, code) in _hostile_files(tmp_path).items():
        result = run_cli(str(path), "--json")
        assert result.exit_code == 2, name
        assert result.stdout == "", name
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (name, result.stderr)
        assert code in lines[0], (name, lines[0])
        assert "Traceback" not in result.stderr
        assert result.seconds < 5, (name, result.seconds)


def test_cli_refuses_missing_file_and_unknown_operation(run_cli, tmp_path):
    missing = run_cli(str(tmp_path / "nothing.png"))
    assert missing.exit_code == 2 and "file_not_found" in missing.stderr
    path = tmp_path / "logo.png"
    path.write_bytes(encode(flat_logo((80, 80)), "PNG"))
    bad_op = run_cli(str(path), "--operation", "teleport")
    assert bad_op.exit_code == 2 and "unknown_operation" in bad_op.stderr


def test_refusal_does_not_leave_warnings_or_state(settings):
    # pytest turns warnings into errors; reaching the end means none escaped.
    for make in (bomb_png, truncated_jpeg):
        with pytest.raises(ImageRejected):
            intake(make(), settings)
    assert Image.MAX_IMAGE_PIXELS == 89_478_485
    assert intake(io.BytesIO(encode(flat_logo((30, 30)), "PNG")).getvalue(), settings)
