"""Pure rules of dispatch jobs, the result checks, and the callback secret file."""

from __future__ import annotations

import io
import os
import stat
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import Image

from ai_cs.config import Settings
from ai_cs.dispatch.config import callback_secret, connect_host, dispatch_base_url
from ai_cs.dispatch.results import (
    ResultRejected,
    ResultTooLarge,
    WrongResultFormat,
    check_result,
    deliverable_label,
    sniff_kind,
)
from ai_cs.dispatch.rules import (
    CallbackStatus,
    JobStateConflict,
    JobStatus,
    UnknownJobStatus,
    callback_outcome,
    check_job_transition,
    is_overdue,
    parse_job_status,
)
from ai_cs.engines.vector_output import svg_to_eps, svg_to_pdf


def png(mode: str = "RGBA", alpha: int = 0) -> bytes:
    img = Image.new(mode, (20, 10), (255, 0, 0, alpha) if mode == "RGBA" else (255, 0, 0))
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


def test_job_transitions_are_the_table() -> None:
    check_job_transition("J", JobStatus.OPEN, JobStatus.CLAIMED)
    check_job_transition("J", JobStatus.CLAIMED, JobStatus.OPEN)
    check_job_transition("J", JobStatus.CLAIMED, JobStatus.DONE)
    for previous, current in [
        (JobStatus.OPEN, JobStatus.DONE),
        (JobStatus.DONE, JobStatus.CLAIMED),
        (JobStatus.DONE, JobStatus.OPEN),
    ]:
        with pytest.raises(JobStateConflict):
            check_job_transition("J", previous, current)
    assert parse_job_status(" open ") is JobStatus.OPEN
    with pytest.raises(UnknownJobStatus):
        parse_job_status("closed")


def test_overdue_and_callback_outcomes() -> None:
    assert is_overdue("claimed", 100.0, 100.0)
    assert not is_overdue("claimed", 100.0, 99.9)
    assert not is_overdue("done", 1.0, 100.0)
    assert not is_overdue("claimed", None, 100.0)
    assert callback_outcome(200) is CallbackStatus.SENT
    for status in (401, 403, 408, 429, 500, 502, 503):
        assert callback_outcome(status) is CallbackStatus.PENDING
    for status in (400, 404, 409, 413, 422):
        assert callback_outcome(status) is CallbackStatus.REJECTED


def test_results_are_checked_by_their_bytes() -> None:
    cutout = check_result(png(alpha=0), "remove_bg")
    assert (cutout.kind, cutout.extension, cutout.width) == ("png", ".png", 20)
    assert check_result(png("RGB"), "enhance").mime == "image/png"
    with pytest.raises(WrongResultFormat):
        check_result(png("RGB"), "remove_bg")  # nothing transparent
    with pytest.raises(WrongResultFormat):
        check_result(png(), "vectorize")
    with pytest.raises(ResultRejected):
        check_result(b"GIF89a....", "enhance")
    with pytest.raises(ResultTooLarge):
        check_result(b"\x89PNG\r\n\x1a\n" + b"\x00" * (64 * 1024 * 1024), "enhance")
    assert sniff_kind(b"\xef\xbb\xbf  <svg xmlns='http://www.w3.org/2000/svg'/>") == "svg"
    assert sniff_kind(b"<html><svg></svg></html>") is None


LOGO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" onload="alert(1)">'
    b'<rect width="40" height="40" fill="white"/><circle cx="20" cy="20" r="15" fill="red"/>'
    b"<script>alert(2)</script></svg>"
)


def order(formats: str | None) -> dict[str, object]:
    """A task's requirements as the chat stores them (``output.format``)."""
    return {"complexity": "simple", "output": {"format": formats} if formats else {}}


def zipped(**members: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name.replace("__", "/").replace("_", "."), data)
    return buffer.getvalue()


def test_a_designer_delivers_vectors_as_svg_pdf_or_eps_checked_by_content() -> None:
    pdf, eps = svg_to_pdf(LOGO), svg_to_eps(LOGO)
    assert (sniff_kind(pdf), sniff_kind(eps), sniff_kind(zipped(a_svg=LOGO))) == (
        "pdf",
        "eps",
        "zip",
    )
    # No format asked: any vector file, each read back.
    assert check_result(pdf, "vectorize").mime == "application/pdf"
    assert check_result(eps, "vectorize").extension == ".eps"
    assert b"script" not in check_result(LOGO, "vectorize").data
    # A PDF or EPS that only wraps a bitmap is not a vector file; a broken one is refused.
    bitmap_pdf, bitmap_eps = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (30, 30), (200, 0, 0)).save(bitmap_pdf, "PDF")
    Image.new("RGB", (30, 30), (200, 0, 0)).save(bitmap_eps, "EPS")
    with pytest.raises(WrongResultFormat, match="picture"):
        check_result(bitmap_pdf.getvalue(), "vectorize")
    with pytest.raises(WrongResultFormat, match="picture"):
        check_result(bitmap_eps.getvalue(), "vectorize")
    with pytest.raises(ResultRejected, match="PDF cannot be read"):
        check_result(b"%PDF-1.4\n" + os.urandom(300), "vectorize")
    with pytest.raises(ResultRejected, match="EPSF header"):
        check_result(b"%!PS-Adobe-3.0 EPSF-3.0\nfill\n", "vectorize")
    # A ZIP is only for an order that named several formats.
    with pytest.raises(WrongResultFormat, match="vectorize delivers EPS / PDF / SVG"):
        check_result(zipped(a_svg=LOGO), "vectorize")


def test_what_the_order_asked_is_what_the_designer_must_deliver() -> None:
    pdf = svg_to_pdf(LOGO)
    assert check_result(pdf, "vectorize", order("pdf")).kind == "pdf"
    with pytest.raises(WrongResultFormat, match="order asked for PDF; the uploaded file is SVG"):
        check_result(LOGO, "vectorize", order("pdf"))
    with pytest.raises(WrongResultFormat, match="order asked for EPS"):
        check_result(pdf, "vectorize", order("eps"))
    # Raster operations too: a JPG order gets a JPEG.
    jpeg = io.BytesIO()
    Image.new("RGB", (20, 10), (1, 2, 3)).save(jpeg, "JPEG")
    assert check_result(jpeg.getvalue(), "enhance", order("jpg")).kind == "jpeg"
    with pytest.raises(WrongResultFormat, match="order asked for JPEG"):
        check_result(png("RGB"), "enhance", order("jpg"))
    assert deliverable_label("vectorize", order("pdf")) == "PDF"
    assert deliverable_label("vectorize", order(None)) == "EPS / PDF / SVG"
    assert deliverable_label("vectorize", order("svg,pdf")).startswith("SVG + PDF（打包成一个 ZIP")


def test_several_formats_come_as_one_zip_with_one_checked_file_each() -> None:
    pdf = svg_to_pdf(LOGO)
    asked = order("svg,pdf")
    with pytest.raises(WrongResultFormat, match="SVG / PDF in one ZIP; the uploaded file is PDF"):
        check_result(pdf, "vectorize", asked)
    checked = check_result(zipped(logo_svg=LOGO, logo_pdf=pdf), "vectorize", asked)
    assert (checked.kind, checked.mime) == ("zip", "application/zip")
    with zipfile.ZipFile(io.BytesIO(checked.data)) as archive:
        assert sorted(archive.namelist()) == ["logo.pdf", "logo.svg"]
        assert archive.read("logo.pdf") == pdf
        cleaned = archive.read("logo.svg")  # rebuilt from the sanitized SVG
    assert b"<circle" in cleaned and b"script" not in cleaned and b"onload" not in cleaned

    refusals = {
        "missing": (zipped(logo_svg=LOGO), WrongResultFormat, "the ZIP holds SVG"),
        "doubled": (
            zipped(a_svg=LOGO, b_svg=LOGO, c_pdf=pdf),
            WrongResultFormat,
            "holds SVG / SVG / PDF",
        ),
        "escape": (zipped(**{"..__x_svg": LOGO, "y_pdf": pdf}), ResultRejected, "unsafe path"),
        "nested": (zipped(a_zip=zipped(a_svg=LOGO), b_pdf=pdf), ResultRejected, "not a delive"),
        "bitmap": (zipped(a_svg=LOGO, b_png=png()), WrongResultFormat, "holds SVG / PNG"),
        "broken": (b"PK\x03\x04" + os.urandom(100), ResultRejected, "ZIP cannot be read"),
    }
    for name, (data, error, words) in refusals.items():
        with pytest.raises(error, match=words):
            check_result(data, "vectorize", asked)
        assert name


def test_a_bomb_claiming_a_huge_canvas_is_refused_without_decoding() -> None:
    header = bytearray(png("RGB"))
    header[16:24] = (50_000).to_bytes(4, "big") * 2  # IHDR width and height
    header[29:33] = zlib.crc32(bytes(header[12:29])).to_bytes(4, "big")  # a valid chunk
    with pytest.raises(ResultRejected, match="pixels|MP"):
        check_result(bytes(header), "enhance")


def test_the_callback_secret_is_made_once_with_owner_only_access(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AICS_DISPATCH_CALLBACK_SECRET", raising=False)
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    secret = callback_secret(settings)
    assert len(secret) >= 32 and callback_secret(settings) == secret
    path = tmp_path / "data" / "dispatch_callback.secret"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    monkeypatch.setenv("AICS_DISPATCH_CALLBACK_SECRET", "configured")
    assert callback_secret(settings) == b"configured"


def test_urls_use_loopback_for_wildcard_binds() -> None:
    assert connect_host("0.0.0.0") == "127.0.0.1"
    assert connect_host("::") == "[::1]"
    assert connect_host("fe80::1") == "[fe80::1]"
    settings = Settings(_env_file=None, host="0.0.0.0", dispatch_port=9005)  # type: ignore[call-arg]
    assert dispatch_base_url(settings) == "http://127.0.0.1:9005"
    pointed = settings.model_copy(update={"dispatch_url": "https://tuhui.example.com/"})
    assert dispatch_base_url(pointed) == "https://tuhui.example.com"
