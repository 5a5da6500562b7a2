"""Result and original pictures: served with nosniff, SVG without scripts, nothing outside data."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_helpers import assert_error, bearer
from PIL import Image

from ai_cs import datafiles
from ai_cs.config import Settings

MakeTask = Callable[..., dict[str, Any]]
EVIL_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
)


@pytest.fixture
def staff(keys: dict[str, str]) -> dict[str, str]:
    return bearer(keys["staff"])


def _png(color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (8, 6), color).save(out, "PNG")
    return out.getvalue()


def _store(settings: Settings, kind: str, data: bytes, ext: str) -> str:
    """Store as intake and the worker do; returns the storage key."""
    return datafiles.put(settings.data_dir, kind, data, ext)


def test_svg_result_is_served_with_a_no_script_policy(
    client: httpx.Client, staff: dict[str, str], make_task: MakeTask, settings: Settings
) -> None:
    key = _store(settings, "results", EVIL_SVG, "svg")
    task = make_task("awaiting_confirm", result_image=key)
    response = client.get(f"/api/v1/tasks/{task['task_id']}/result", headers=staff)
    assert response.status_code == 200
    assert response.content == EVIL_SVG
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.headers["x-content-type-options"] == "nosniff"
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "style-src 'unsafe-inline'" in csp
    assert "img-src data:" in csp and "script-src" not in csp
    detail = client.get(f"/api/v1/tasks/{task['task_id']}", headers=staff).json()
    assert detail["results"] == [
        {
            "kind": "result",
            "url": f"/api/v1/tasks/{task['task_id']}/result",
            "media_type": "image/svg+xml",
        }
    ]


def test_png_result_and_psd_download(
    client: httpx.Client, staff: dict[str, str], make_task: MakeTask, settings: Settings
) -> None:
    png = _png()
    task = make_task("awaiting_confirm", result_image=_store(settings, "results", png, "png"))
    response = client.get(f"/api/v1/tasks/{task['task_id']}/result", headers=staff)
    assert response.status_code == 200 and response.content == png
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    psd_key = _store(settings, "results", b"8BPS" + b"\x00" * 40, "psd")
    layered = make_task("awaiting_confirm", result_image=psd_key)
    psd = client.get(f"/api/v1/tasks/{layered['task_id']}/result", headers=staff)
    assert psd.status_code == 200
    assert psd.headers["content-disposition"].startswith("attachment")


def test_missing_result_is_404(
    client: httpx.Client, staff: dict[str, str], make_task: MakeTask
) -> None:
    none_yet = make_task("processing")
    assert_error(client.get(f"/api/v1/tasks/{none_yet['task_id']}/result", headers=staff), 404)
    gone = make_task("awaiting_confirm", result_image=f"results/00/{'0' * 64}.png")
    assert_error(client.get(f"/api/v1/tasks/{gone['task_id']}/result", headers=staff), 404)


def test_original_from_the_data_dir_and_from_a_url(
    client: httpx.Client, staff: dict[str, str], make_task: MakeTask, settings: Settings
) -> None:
    png = _png("blue")
    key = _store(settings, "images", png, "png")
    stored = settings.data_dir / key
    relative = make_task(original_image=key)
    absolute = make_task(original_image=str(stored.resolve()))
    file_url = make_task(original_image=stored.resolve().as_uri())
    # Rows from before storage keys: the relative path the old default (./data) wrote.
    legacy = make_task(original_image=f"data/{key}")
    for task in (relative, absolute, file_url, legacy):
        response = client.get(f"/api/v1/tasks/{task['task_id']}/original", headers=staff)
        assert response.status_code == 200, task["original_image"]
        assert response.content == png
        assert response.headers["x-content-type-options"] == "nosniff"
    remote = make_task(original_image="https://img.example.com/a.jpg")
    redirect = client.get(f"/api/v1/tasks/{remote['task_id']}/original", headers=staff)
    assert redirect.status_code == 307
    assert redirect.headers["location"] == "https://img.example.com/a.jpg"
    # Our stored copy wins over the customer's link: no staff browser is sent to it.
    copied = make_task(
        original_image="https://img.example.com/a.jpg",
        requirements=json.dumps({"stored_image": key}),
    )
    response = client.get(f"/api/v1/tasks/{copied['task_id']}/original", headers=staff)
    assert response.status_code == 200 and response.content == png


def test_files_in_the_data_dir_that_are_not_pictures_are_never_served(
    client: httpx.Client, staff: dict[str, str], make_task: MakeTask, settings: Settings
) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "dispatch_callback.secret").write_text("s3cret")
    for name in ("ai_cs.db", "dispatch_callback.secret", "dispatch_client.key"):
        for reference in (name, str(settings.data_dir / name)):
            original = make_task(original_image=reference)
            result = make_task("awaiting_confirm", result_image=reference)
            for task, what in ((original, "original"), (result, "result")):
                response = client.get(f"/api/v1/tasks/{task['task_id']}/{what}", headers=staff)
                assert_error(response, 404)
                assert b"s3cret" not in response.content and b"SQLite" not in response.content


def test_originals_outside_the_data_dir_are_never_served(
    client: httpx.Client,
    staff: dict[str, str],
    make_task: MakeTask,
    settings: Settings,
    tmp_path: Path,
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    link = settings.data_dir / "images" / "link.png"
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(secret, link)
    for reference in (
        "/etc/passwd",
        "../secret.txt",
        "images/../../secret.txt",
        str(secret),
        secret.as_uri(),
        "file://evil.example.com/etc/passwd",
        "images/link.png",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        str(settings.data_dir),
    ):
        task = make_task(original_image=reference)
        response = client.get(f"/api/v1/tasks/{task['task_id']}/original", headers=staff)
        assert_error(response, 404)
        assert b"top secret" not in response.content and b"root:" not in response.content
