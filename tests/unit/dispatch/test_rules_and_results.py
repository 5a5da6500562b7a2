"""Pure rules of dispatch jobs, the result checks, and the callback secret file."""

from __future__ import annotations

import io
import os
import stat
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
